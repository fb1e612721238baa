import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { QueueStore } from '../../src/domain/queue-store.ts';
import { returnAfterDraw, SaleRooms } from '../../src/domain/sales/sale-rooms.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
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

describe('returnAfterDraw', () => {
  test('without a lead every pre-queued fan comes back at the opening', () => {
    for (const userId of [1, 2, 99_999]) assert.equal(returnAfterDraw(50_000, 0, userId), 50_000);
  });

  test('with a lead, 100,000 consecutive ids come back evenly over its last three quarters', () => {
    const opensAt = 1_000_000;
    const lead = 20_000;
    const buckets = new Array(15).fill(0);
    for (let userId = 1; userId <= 100_000; userId++) {
      const at = returnAfterDraw(opensAt, lead, userId);
      assert.ok(at >= opensAt - lead * 0.75 && at < opensAt, `user ${userId} returns at ${at}`);
      buckets[Math.floor((at - (opensAt - lead * 0.75)) / 1000)]++;
    }
    // 15 one-second buckets of about 6,667 fans: none carries more than 5 % over the even share.
    for (const n of buckets) assert.ok(Math.abs(n - 100_000 / 15) < 100_000 / 15 / 20, `bucket of ${n}`);
  });
});

const stores: Array<{ name: string; up: boolean; open(): [QueueStore, () => Promise<void>] }> = [
  {
    name: 'memory',
    up: true,
    open: () => [new MemoryQueueStore(storeSettings), async () => {}],
  },
  {
    name: 'redis',
    up: redisUp,
    open: () => {
      const store = new RedisQueueStore({
        redis: serverUrls.redis,
        settings: storeSettings,
        hashTag: `draw-lead-${randomBytes(6).toString('hex')}`,
      });
      return [
        store,
        async () => {
          await store.destroy();
          await store.close();
        },
      ];
    },
  },
];

for (const backend of stores)
  describe(`a draw ahead of the opening on the ${backend.name} store`, {
    skip: !backend.up && `${backend.name} not reachable`,
  }, () => {
    test('the pre-queue is drawn a lead before the opening: fans learn their drawn places, nobody is admitted before the opening, and later fans queue behind the drawn', async () => {
      const testDb = await createTestDatabase('sqlite');
      const [store, close] = backend.open();
      try {
        const { clock, sales } = await seededSales(testDb.database, {
          users: 60,
          schedules: 1,
          seatsPerSchedule: 40,
        });
        const lead = 20_000;
        const opensAt = clock.now() + 60_000;
        const sale = await sales.create({ name: 'lead', scheduleIds: [1], opensAt }, actor);
        const rooms = new SaleRooms({
          sales,
          clock,
          drawLeadMs: lead,
          open: () => ({
            store,
            room: new WaitingRoom({ store, clock, settings: roomSettings, accessKeys }),
          }),
        });
        const keys = new Map<number, string>();
        for (let userId = 1; userId <= 30; userId++) {
          const ticket = await rooms.issue(sale.id, userId);
          assert.equal(ticket.status, 'PREQUEUE');
          // Asked back at the moment the id gives within the lead (whatever the place), at most the longest advice.
          const back = returnAfterDraw(opensAt, lead, userId);
          assert.equal(
            ticket.pollAfterMs,
            Math.min(60_000, Math.max(1000, back - clock.now())),
            `user ${userId}`,
          );
          keys.set(userId, ticket.accessKey!);
        }

        // Just before the lead: no draw yet, every fan sees the size of the pre-queue.
        clock.advance(60_000 - lead - 1);
        await rooms.tick();
        assert.equal((await rooms.draw(sale.id)).order, null);
        assert.equal((await rooms.poll(sale.id, 7, keys.get(7))).position, 30);

        // At the lead the draw runs; the sale is still scheduled and admits nobody.
        clock.advance(1);
        await rooms.tick();
        const draw = await rooms.draw(sale.id);
        assert.ok(draw.order, 'the draw is recorded ahead of the opening');
        assert.equal(draw.order.length, 30);
        assert.equal((await rooms.sale(sale.id)).status, 'SCHEDULED');
        await rooms.tick();
        assert.equal((await store.counts()).active, 0, 'nobody is admitted before the opening');

        // Every drawn fan polls its drawn place, with the opening still ahead.
        const afterOpening: number[] = [];
        for (const [i, userId] of draw.order.entries()) {
          const t = await rooms.poll(sale.id, userId, keys.get(userId));
          assert.equal(t.status, 'PREQUEUE');
          assert.equal(t.position, i + 1, `user ${userId} drawn at ${i + 1}`);
          assert.equal(t.opensAt, opensAt);
          // Back once admission reaches the place: after the opening, within the longest advice.
          assert.ok(t.pollAfterMs >= opensAt - clock.now() && t.pollAfterMs <= 60_000);
          afterOpening.push(t.pollAfterMs - (opensAt - clock.now()));
        }
        // The front comes back in order of place, spread from the opening on, not all at the shortest advice.
        assert.ok(
          afterOpening[0] < 1000,
          `the first drawn fan is back within the opening's second: ${afterOpening[0]}`,
        );
        assert.ok(new Set(afterOpening).size > 1, 'the drawn fans do not all come back in the same instant');
        for (let i = 1; i < afterOpening.length; i++)
          assert.ok(afterOpening[i - 1] <= afterOpening[i], `place ${i + 1}`);

        // A fan who comes after the draw is behind every drawn fan, not in the draw.
        const late = await rooms.issue(sale.id, 31);
        assert.equal(late.status, 'PREQUEUE');
        assert.equal(late.position, 31);
        assert.equal((await rooms.draw(sale.id)).order?.includes(31), false);

        // At the opening admission starts with the first drawn.
        clock.advance(lead);
        await rooms.tick();
        clock.advance(100);
        await rooms.tick();
        const first = await rooms.poll(sale.id, draw.order[0], keys.get(draw.order[0]));
        assert.equal(first.status, 'ACTIVE');
      } finally {
        await close();
        await testDb.drop();
      }
    });
  });
