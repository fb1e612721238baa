import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterSeeds } from '../../src/redis-url.ts';

test('a redis-cluster:// URL names its seed nodes and credentials; anything else is not a cluster', () => {
  assert.deepEqual(clusterSeeds('redis-cluster://127.0.0.1:7001,10.0.0.2:7002,[::1]:7003'), {
    nodes: [
      { host: '127.0.0.1', port: 7001 },
      { host: '10.0.0.2', port: 7002 },
      { host: '::1', port: 7003 },
    ],
  });
  assert.deepEqual(clusterSeeds('redis-cluster://app:p%40ss@redis-a:6379'), {
    nodes: [{ host: 'redis-a', port: 6379 }],
    username: 'app',
    password: 'p@ss',
  });
  assert.deepEqual(clusterSeeds('redis-cluster://:secret@h:1')?.password, 'secret');
  for (const notCluster of [
    'redis://127.0.0.1:6379',
    'redis-cluster://',
    'redis-cluster://h',
    'redis-cluster://h:0',
    'redis-cluster://h:70000',
    'redis-cluster://h:1,',
    'redis-cluster://%zz@h:1',
  ])
    assert.equal(clusterSeeds(notCluster), undefined, notCluster);
});
