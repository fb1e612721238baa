import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { SaleRooms } from '../../src/domain/sales/sale-rooms.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { createTestDatabase } from '../support/databases.ts';
import {
  accessKeys,
  testActor as actor,
  roomSettings,
  seededSales,
  storeSettings,
} from '../support/sale-fixtures.ts';

const redisUp = await serverAvailable('redis');

describe('live controls of a sale shared by two processes on Redis', {
  skip: !redisUp && 'redis not reachable',
}, () => {
  test('a pause, a new cap and a resume made in one process are followed by the other within a second', async () => {
    const testDb = await createTestDatabase('sqlite');
    const hashTag = `controls-${randomBytes(6).toString('hex')}`;
    const storeA = new RedisQueueStore({ redis: serverUrls.redis, settings: storeSettings, hashTag });
    const storeB = new RedisQueueStore({ redis: serverUrls.redis, settings: storeSettings, hashTag });
    try {
      const { clock, sales } = await seededSales(testDb.database, {
        users: 50,
        schedules: 1,
        seatsPerSchedule: 40,
      });
      const sale = await sales.create({ name: 'controls', scheduleIds: [1] }, actor);
      const processOf = (store: RedisQueueStore) =>
        new SaleRooms({
          sales,
          clock,
          open: () => ({
            store,
            room: new WaitingRoom({ store, clock, settings: roomSettings, accessKeys }),
          }),
        });
      const a = processOf(storeA);
      const b = processOf(storeB);
      const keys = new Map<number, string>();
      for (let userId = 1; userId <= 10; userId++)
        keys.set(userId, (await b.issue(sale.id, userId)).accessKey!);

      // Process A pauses the sale; B still has its copy of the controls for up to half a second.
      const paused = await sales.change(sale.id, 'pause', { paused: true }, actor);
      await a.controlChanged(paused);
      assert.equal((await a.sale(sale.id)).status, 'PAUSED');
      clock.advance(500);
      assert.equal((await b.sale(sale.id)).status, 'PAUSED');
      const waiting = await b.poll(sale.id, 1, keys.get(1));
      assert.equal(waiting.admission, 'PAUSED');
      await b.tick();
      clock.advance(100);
      await b.tick();
      assert.equal((await storeB.counts()).active, 0, 'B admits nobody while paused');

      // A new cap and a resume, made in A, are what B admits within.
      await a.controlChanged(await sales.change(sale.id, 'settings', { maxActive: 3 }, actor));
      await a.controlChanged(await sales.change(sale.id, 'resume', { paused: false }, actor));
      clock.advance(500);
      await b.tick();
      clock.advance(100);
      await b.tick();
      assert.equal((await storeB.counts()).active, 3);
      assert.equal((await b.poll(sale.id, 1, keys.get(1))).status, 'ACTIVE');
      assert.equal((await b.poll(sale.id, 4, keys.get(4))).position, 1);
    } finally {
      await storeA.destroy();
      await storeA.close();
      await storeB.close();
      await testDb.drop();
    }
  });
});
