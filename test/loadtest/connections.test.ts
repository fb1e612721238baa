import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Connections } from '../../src/loadtest/connections.ts';

const OPTIONS = { pipelining: 1, keepAliveTimeout: 30_000 };

test('requests go to the next idle connection in turn, not to the first one opened', async () => {
  const ports: number[] = [];
  const server = createServer((req, res) => {
    ports.push(req.socket.remotePort ?? 0);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const connections = new Connections(target, 3, OPTIONS);
  try {
    // One request at a time, each after a new connection may be opened (one per 10 ms): undici's Pool would
    // send all six on its first connection.
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const { slot, client } = connections.acquire();
      const answer = await client.request({ method: 'GET', path: '/' });
      await answer.body.text();
      connections.release(slot);
    }
    assert.equal(new Set(ports.slice(0, 3)).size, 3, 'the first three requests opened three connections');
    assert.deepEqual(ports.slice(3), ports.slice(0, 3), 'then each connection is used again in turn');
  } finally {
    await connections.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('when every connection is busy the one with the fewest requests in flight is chosen', async () => {
  const connections = new Connections('http://127.0.0.1:9', 3, OPTIONS);
  try {
    const slots = [0, 1, 2].map(() => connections.acquire().slot);
    assert.deepEqual(slots, [0, 1, 2], 'each busy in turn, so each opened a connection');
    assert.equal(connections.acquire().slot, 0, 'all busy: the next in turn among the least loaded');
    connections.release(2);
    assert.equal(connections.acquire().slot, 2, 'an idle connection comes first');
    assert.equal(connections.acquire().slot, 1, 'the least loaded (slots 1 and 2, one each), first in turn');
    connections.release(1);
    connections.release(1);
    connections.release(1);
    assert.equal(connections.acquire().slot, 1, 'releasing more than was sent never goes below zero');
  } finally {
    await connections.destroy();
  }
});
