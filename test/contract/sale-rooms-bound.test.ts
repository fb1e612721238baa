import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { QueueStore } from '../../src/domain/queue-store.ts';
import { IDLE_RELEASE_MS, type SaleLine, SaleRooms } from '../../src/domain/sales/sale-rooms.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { createTestDatabase } from '../support/databases.ts';
import { dropQueueKeys } from '../support/redis-keys.ts';
import {
  accessKeys,
  testActor as actor,
  roomSettings,
  seededSales,
  storeSettings,
} from '../support/sale-fixtures.ts';

const redisUp = await serverAvailable('redis');
/** Past the idle time after which a sale may be released. */
const IDLE = IDLE_RELEASE_MS;

async function fixture() {
  const testDb = await createTestDatabase('sqlite');
  const { clock, sales } = await seededSales(testDb.database, {
    users: 20,
    schedules: 1,
    seatsPerSchedule: 40,
  });
  const ids: number[] = [];
  for (let k = 0; k < 5; k++) ids.push((await sales.create({ name: `s${k}`, scheduleIds: [1] }, actor)).id);
  return { testDb, clock, sales, ids };
}

describe('a process keeps a bounded set of sales', () => {
  test('a closed sale no request used for a minute is released; asked again, it is read again and still closed', async () => {
    const { testDb, clock, sales, ids } = await fixture();
    const closed: number[] = [];
    const rooms = new SaleRooms({
      sales,
      clock,
      open: (saleId): SaleLine => {
        const store: QueueStore = new MemoryQueueStore(storeSettings);
        store.close = async () => {
          closed.push(saleId);
        };
        return { store, room: new WaitingRoom({ store, clock, settings: roomSettings, accessKeys }) };
      },
    });
    try {
      const [open, ended] = ids as [number, number];
      await rooms.issue(open, 1);
      await rooms.issue(ended, 1);
      await rooms.controlChanged(await sales.close(ended, actor));
      await rooms.tick();
      clock.advance(IDLE - 1);
      await rooms.tick();
      assert.deepEqual(rooms.runningSales().sort(), [open, ended].sort(), 'kept within the minute');
      clock.advance(1);
      await rooms.tick();
      assert.deepEqual(closed, [ended]);
      // An open sale in the memory store stays however idle: its line lives only here.
      assert.deepEqual(rooms.runningSales(), [open]);
      assert.equal((await rooms.sale(ended)).status, 'CLOSED');
      assert.equal((await rooms.poll(open, 1, undefined).catch((e) => e.code)) as string, 'TOKEN_MISSING');
    } finally {
      await rooms.close();
      await testDb.drop();
    }
  });

  test('beyond the cap, the least recently used idle sales of a shared store go and follow the controls when read again', {
    skip: !redisUp && 'redis not reachable',
  }, async () => {
    const { testDb, clock, sales, ids } = await fixture();
    const tag = `bound-${randomBytes(6).toString('hex')}`;
    const stores: RedisQueueStore[] = [];
    const processOf = (maxSales: number) =>
      new SaleRooms({
        sales,
        clock,
        maxSales,
        open: (saleId): SaleLine => {
          const store = new RedisQueueStore({
            redis: serverUrls.redis,
            settings: storeSettings,
            hashTag: `${tag}:${saleId}`,
          });
          stores.push(store);
          return {
            store,
            room: new WaitingRoom({ store, clock, settings: roomSettings, accessKeys }),
            shared: true,
          };
        },
      });
    const a = processOf(3);
    const operator = processOf(100);
    try {
      for (const saleId of ids) await a.issue(saleId, 7);
      clock.advance(IDLE);
      // Five sales, cap 3: the two least recently used go; the others were used later (two a moment ago).
      await a.sale(ids[3]!);
      await a.sale(ids[4]!);
      await a.tick();
      assert.deepEqual(a.runningSales().sort(), [ids[2], ids[3], ids[4]].sort());

      // Another process pauses a released sale: this one reads the control when the sale is used again.
      await operator.controlChanged(await sales.change(ids[0]!, 'pause', { paused: true }, actor));
      assert.equal((await a.sale(ids[0]!)).status, 'PAUSED');
      // A sale released here keeps its line in Redis: a fan who joined through another process is found here.
      const key = (await operator.issue(ids[1]!, 8)).accessKey;
      assert.equal((await a.poll(ids[1]!, 8, key)).status, 'WAITING');
    } finally {
      await a.close();
      await operator.close();
      for (const s of stores) await s.destroy().catch(() => {});
      for (const s of stores) await s.close();
      // close() above closed the stores its processes still held, so their destroy() fails (ignored): the
      // rooms' keys go by name.
      await dropQueueKeys(tag);
      await testDb.drop();
    }
  });
});
