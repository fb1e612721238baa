// Dependencies of a `ticketrush serve` of the test's own, really stopped and started again under a steady
// mixed load, on MariaDB + Redis without persistence. See docs/operations.md for the costs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deploy, deploymentInstalled, type FaultDeployment } from './deployment.ts';
import { assertFailedFast, assertServesNormally, describeCost, restartUnderLoad } from './fault-run.ts';

const installed = deploymentInstalled('mysql', false);

describe('faults on MariaDB + Redis (no persistence), under load', {
  skip: installed ? false : 'MariaDB or Redis binaries not installed',
}, () => {
  let d: FaultDeployment;
  before(async () => {
    d = await deploy({ dialect: 'mysql', persistentRedis: false, withNats: false });
  });
  after(async () => d?.close());

  test('MariaDB restart: in-flight requests get 503 DATABASE_UNAVAILABLE, the pool reconnects by itself', async () => {
    const cost = await restartUnderLoad(d, 'mariadb-restart', d.database);
    console.log(describeCost(cost));
    assert.ok(cost.failed.length > 0, 'the restart was felt (else this test proves nothing)');
    assertFailedFast(cost, ['DATABASE_UNAVAILABLE', 'BUSY']);
    assert.equal(cost.lostKeys, 0, 'the waiting room did not notice');
    await assertServesNormally(d, cost);
  });

  test('Redis restart without persistence: admission fails closed, then every key is unknown and users join again', async () => {
    const cost = await restartUnderLoad(d, 'redis-restart-no-persistence', d.redis);
    console.log(describeCost(cost));
    assertFailedFast(cost, ['QUEUE_UNAVAILABLE']);
    assert.ok(cost.lostKeys > 0, 'keys issued before the restart are unknown after it (401)');
    await assertServesNormally(d, cost);
  });
});
