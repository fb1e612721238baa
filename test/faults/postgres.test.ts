// Dependencies of a `ticketrush serve` of the test's own, really stopped and started again under a steady
// mixed load, on PostgreSQL + Redis (with its append-only file) + NATS. See docs/operations.md for the costs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deploy, deploymentInstalled, type FaultDeployment } from './deployment.ts';
import { assertFailedFast, assertServesNormally, describeCost, restartUnderLoad } from './fault-run.ts';

const installed = deploymentInstalled('postgres', true);

describe('faults on PostgreSQL + Redis (append-only) + NATS, under load', {
  skip: installed ? false : 'PostgreSQL, Redis or NATS binaries not installed',
}, () => {
  let d: FaultDeployment;
  before(async () => {
    d = await deploy({ dialect: 'postgres', persistentRedis: true, withNats: true });
  });
  after(async () => d?.close());

  test('PostgreSQL restart: in-flight requests get 503 DATABASE_UNAVAILABLE, the pool reconnects by itself', async () => {
    const cost = await restartUnderLoad(d, 'postgres-restart', d.database);
    console.log(describeCost(cost));
    assert.ok(cost.failed.length > 0, 'the restart was felt (else this test proves nothing)');
    assertFailedFast(cost, ['DATABASE_UNAVAILABLE', 'BUSY']);
    assert.equal(cost.lostKeys, 0, 'the waiting room did not notice');
    await assertServesNormally(d, cost);
  });

  test('Redis restart with its append-only file: admission fails closed (503 QUEUE_UNAVAILABLE), keys survive', async () => {
    const cost = await restartUnderLoad(d, 'redis-restart', d.redis);
    console.log(describeCost(cost));
    assert.ok(cost.failed.length > 0, 'the restart was felt (else this test proves nothing)');
    assertFailedFast(cost, ['QUEUE_UNAVAILABLE']);
    assert.equal(cost.lostKeys, 0, 'every key and place in line survived the restart');
    await assertServesNormally(d, cost);
  });

  test('NATS restart: the outbox holds the events, no request fails', async () => {
    const nats = d.nats;
    assert.ok(nats);
    const cost = await restartUnderLoad(d, 'nats-restart', nats);
    console.log(describeCost(cost));
    assert.equal(cost.failed.length, 0, 'requests never wait on the broker');
    await assertServesNormally(d, cost);
  });
});
