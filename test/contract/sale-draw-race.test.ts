import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createDatabase } from '../../src/db/database.ts';
import { salesRepository } from '../../src/db/sales-repository.ts';
import { seedDemoData } from '../../src/db/seed.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { QueueStore } from '../../src/domain/queue-store.ts';
import { drawOrder, verifyDraw } from '../../src/domain/sales/draw.ts';
import { runDraw } from '../../src/domain/sales/draw-run.ts';
import { SaleRooms } from '../../src/domain/sales/sale-rooms.ts';
import { SalesService } from '../../src/domain/sales/sales.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { createTestDatabase, DIALECTS, dialectAvailable } from '../support/databases.ts';
import {
  accessKeys,
  testActor as actor,
  saleDefaults as defaults,
  roomSettings,
  seededSales,
  storeSettings,
} from '../support/sale-fixtures.ts';

const reachable = await Promise.all(DIALECTS.map(dialectAvailable));
const redisUp = await serverAvailable('redis');

/** Two processes' handles on one sale's store: two Redis connections, or one memory store (one process). */
const stores: Array<{ name: string; up: boolean; pair(): [QueueStore, QueueStore, () => Promise<void>] }> = [
  {
    name: 'memory',
    up: true,
    pair: () => {
      const store = new MemoryQueueStore(storeSettings);
      return [store, store, async () => {}];
    },
  },
  {
    name: 'redis',
    up: redisUp,
    pair: () => {
      const hashTag = `draw-race-${randomBytes(6).toString('hex')}`;
      const a = new RedisQueueStore({ redis: serverUrls.redis, settings: storeSettings, hashTag });
      const b = new RedisQueueStore({ redis: serverUrls.redis, settings: storeSettings, hashTag });
      return [
        a,
        b,
        async () => {
          await a.destroy();
          await a.close();
          await b.close();
        },
      ];
    },
  },
];

for (const [i, dialect] of DIALECTS.entries())
  for (const backend of stores)
    describe(`the draw at a sale's opening on ${dialect} with the ${backend.name} store`, {
      skip: (!reachable[i] && `${dialect} not reachable`) || (!backend.up && `${backend.name} not reachable`),
    }, () => {
      test('two processes reach the opening at once: one draw is recorded and applied, the one the seed gives', async () => {
        const testDb = await createTestDatabase(dialect);
        // A second pool on the same database: the other process.
        const other = createDatabase(testDb.url);
        const [storeA, storeB, closeStores] = backend.pair();
        try {
          const { clock, sales: salesA } = await seededSales(testDb.database, {
            users: 50,
            schedules: 2,
            seatsPerSchedule: 10,
          });
          const salesB = new SalesService(salesRepository(other), clock, defaults);
          const opensAt = clock.now() + 60_000;
          const sale = await salesA.create({ name: 'race', scheduleIds: [1, 2], opensAt }, actor);
          const roomsOf = (sales: SalesService, store: QueueStore) =>
            new SaleRooms({
              sales,
              clock,
              open: () => ({
                store,
                room: new WaitingRoom({ store, clock, settings: roomSettings, accessKeys }),
              }),
            });
          const a = roomsOf(salesA, storeA);
          const b = roomsOf(salesB, storeB);

          // Entrants join through both processes before the opening.
          const entrants = Array.from({ length: 40 }, (_, k) => k + 1);
          await Promise.all(entrants.map((u) => (u % 2 ? a : b).issue(sale.id, u)));
          clock.advance(60_000);
          // Both processes step at the opening, concurrently, several times over.
          await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
          const late = await a.issue(sale.id, 41);
          assert.equal(late.status, 'WAITING');

          const draws = await Promise.all([a.draw(sale.id), b.draw(sale.id)]);
          assert.deepEqual(draws[0], draws[1]);
          const published = draws[0];
          assert.deepEqual(published.entrants, entrants);
          assert.deepEqual(published.order, drawOrder(sale.drawSeed, entrants));
          assert.deepEqual(
            verifyDraw({
              commitment: published.commitment,
              seed: published.seed!,
              entrants: published.entrants!,
              order: published.order!,
            }),
            { ok: true },
          );
          const rows = await testDb.database.db
            .selectFrom('sale_draws')
            .select('user_id')
            .where('sale_id', '=', sale.id)
            .execute();
          assert.equal(rows.length, entrants.length, 'one order recorded, not two');
          // A claim after the draw was applied says so, in either process.
          assert.equal((await storeA.claimDraw('a', clock.now() + 60_000, 10_000)).outcome, 'applied');
          assert.equal((await storeB.claimDraw('b', clock.now() + 60_000, 10_000)).outcome, 'applied');
          assert.equal(await storeA.drawApplied(), true);
          // 20 seats x overbook 1.5: the first 30 drawn are admitted, the rest wait, the late arrival last.
          clock.advance(100);
          await a.tick();
          assert.equal((await storeA.counts()).admittedTotal, 30);
          assert.equal((await a.poll(sale.id, 41, late.accessKey)).position, 11);
        } finally {
          await closeStores();
          await other.close();
          await testDb.drop();
        }
      });

      test('a process dies midway through placing the draw: nobody is admitted until another finishes it', async () => {
        const testDb = await createTestDatabase(dialect);
        const [storeA, storeB, closeStores] = backend.pair();
        try {
          await seedDemoData(testDb.database.db, {
            users: 50,
            schedules: 2,
            schedulesPerConcert: 2,
            seatsPerSchedule: 10,
          });
          const clock = new ManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));
          const sales = new SalesService(salesRepository(testDb.database), clock, defaults);
          const opensAt = clock.now() + 60_000;
          const sale = await sales.create({ name: 'crash', scheduleIds: [1, 2], opensAt }, actor);
          const b = new SaleRooms({
            sales,
            clock,
            open: () => ({
              store: storeB,
              room: new WaitingRoom({ store: storeB, clock, settings: roomSettings, accessKeys }),
            }),
          });
          const entrants = Array.from({ length: 40 }, (_, k) => k + 1);
          const keys = new Map<number, string | undefined>();
          for (const u of entrants) keys.set(u, (await b.issue(sale.id, u)).accessKey);
          clock.advance(60_000);
          // Process A claims the draw, records it and places 2 slices of 7, then dies.
          const run = {
            store: storeA,
            seed: sale.drawSeed,
            holder: 'process-a',
            leaseMs: 10_000,
            now: () => clock.now(),
            recorded: () => sales.drawOrder(sale.id),
            record: (order: number[]) => sales.recordDraw(sale.id, order),
          };
          assert.equal(await runDraw({ ...run, slice: 7, stopAfterSlices: 2 }), 'stopped');
          // B steps while A's lease runs: the draw is not applied, nobody is admitted.
          for (let step = 0; step < 3; step++) {
            clock.advance(1000);
            await b.tick();
          }
          assert.equal((await storeB.counts()).admittedTotal, 0);
          assert.equal(await storeB.drawApplied(), false);
          // The lease ends: B takes over, places the rest and admits the first 30 drawn (20 seats x 1.5).
          clock.advance(10_000);
          await b.tick();
          assert.equal(await storeB.drawApplied(), true);
          clock.advance(100);
          await b.tick();
          assert.equal((await storeB.counts()).admittedTotal, 30);
          const order = drawOrder(sale.drawSeed, entrants);
          assert.deepEqual((await b.draw(sale.id)).order, order);
          for (const [place, userId] of order.entries())
            assert.equal(
              (await b.poll(sale.id, userId, keys.get(userId))).status,
              place < 30 ? 'ACTIVE' : 'WAITING',
            );
        } finally {
          await closeStores();
          await testDb.drop();
        }
      });

      test('concurrent claims of one draw: exactly one process gets it', async () => {
        const [storeA, storeB, closeStores] = backend.pair();
        try {
          const claims = await Promise.all(
            Array.from({ length: 20 }, (_, k) => (k % 2 ? storeA : storeB).claimDraw(`p${k}`, 1000, 10_000)),
          );
          assert.equal(claims.filter((c) => c.outcome === 'claimed').length, 1);
          assert.equal(claims.filter((c) => c.outcome === 'held-elsewhere').length, 19);
          // A lease that ran out is taken over: the earlier holder's calls are refused from then on.
          assert.deepEqual(await storeB.claimDraw('late', 11_001, 10_000), { outcome: 'claimed', placed: 0 });
          const first = claims.findIndex((c) => c.outcome === 'claimed');
          const lost = await (first % 2 ? storeA : storeB).applyDrawSlice(
            `p${first}`,
            { from: 0, total: 0, users: [] },
            11_002,
            10_000,
          );
          assert.deepEqual(lost, { outcome: 'lost' });
          assert.equal(await storeA.drawEntrants(`p${first}`, '0', 11_002, 10_000), undefined);
          assert.deepEqual(
            await storeA.applyDrawSlice('late', { from: 0, total: 0, users: [] }, 11_003, 10_000),
            {
              outcome: 'applied',
            },
          );
          assert.equal((await storeA.claimDraw('again', 99_999, 10_000)).outcome, 'applied');
        } finally {
          await closeStores();
        }
      });
    });
