import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CatalogRepository,
  CatalogService,
  SCHEDULE_CACHE_MS,
  type SeatAvailability,
  type TakenSeat,
} from '../../src/domain/catalog.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { SEAT_MAP_FRESH_MS } from '../../src/domain/seat-map-copies.ts';

test("a process's copy of a schedule ages out, or is dropped at once after a change made here", async () => {
  let published = true;
  let reads = 0;
  const repo = {
    findSchedule: async (id: number) => {
      reads++;
      return published
        ? { id, concertId: 1, startsAt: 0, seatCount: 5, basePrice: 1, venue: 'v', seatMap: 'stored' }
        : undefined;
    },
  } as unknown as CatalogRepository;
  const clock = new ManualClock();
  const catalog = new CatalogService(repo, clock);
  await catalog.getSchedule(3);
  published = false;
  await catalog.getSchedule(3);
  assert.equal(reads, 1, 'within the cache time, the copy answers');
  clock.advance(SCHEDULE_CACHE_MS);
  await assert.rejects(catalog.getSchedule(3), { code: 'SCHEDULE_NOT_FOUND' });
  published = true;
  await catalog.getSchedule(3);
  published = false;
  catalog.forgetSchedules();
  await assert.rejects(catalog.getSchedule(3), { code: 'SCHEDULE_NOT_FOUND' });
  assert.equal(reads, 4);
});

test('a page of the concert list is read once per second however many fans ask at once, per cursor and size', async () => {
  const reads: Array<[number, number]> = [];
  const repo = {
    listConcerts: async (afterId: number, limit: number) => {
      reads.push([afterId, limit]);
      return Array.from({ length: limit }, (_, i) => ({
        id: afterId + i + 1,
        title: 't',
        artist: 'a',
        venue: 'v',
      }));
    },
  } as unknown as CatalogRepository;
  const clock = new ManualClock();
  const catalog = new CatalogService(repo, clock);
  const pages = await Promise.all(Array.from({ length: 400 }, () => catalog.listConcerts(undefined, 20)));
  assert.deepEqual(reads, [[0, 21]], 'an opening that admits 400 fans at once reads the first page once');
  assert.equal(pages[399].concerts.length, 20);
  const next = await catalog.listConcerts(pages[0].nextCursor ?? undefined, 5);
  assert.equal(next.concerts[0].id, 21);
  assert.deepEqual(reads.at(-1), [20, 6], 'another cursor or size is another page');
  clock.advance(SCHEDULE_CACHE_MS);
  await catalog.listConcerts(undefined, 20);
  catalog.forgetSchedules();
  await catalog.listConcerts(undefined, 20);
  assert.equal(reads.length, 4, 'a page ages out after a second, and at once after a change made here');
});

function seatMapRepo(seats: number) {
  const reads: number[] = [];
  const state = { taken: [{ id: 2, status: 'HELD' }] as TakenSeat[] };
  const answers: Array<() => void> = [];
  const repo = {
    findSchedule: async (id: number) => ({
      id,
      concertId: 1,
      startsAt: 0,
      seatCount: seats,
      basePrice: 10,
      venue: 'v',
      seatMap: 'tiered',
    }),
    takenSeats: (scheduleId: number) => {
      reads.push(scheduleId);
      const now = state.taken;
      return new Promise((resolve) => answers.push(() => resolve(now)));
    },
  } as unknown as CatalogRepository;
  /** Answers the reads asked so far, once `n` are waiting. */
  const answer = async (n: number) => {
    while (answers.length < n) await new Promise((resolve) => setImmediate(resolve));
    for (const a of answers.splice(0)) a();
  };
  return { repo, reads, state, answer };
}

const freeIds = (map: SeatAvailability) => map.free.map((s) => s.id);

test('fans asking for a seat map while its read is under way share that read; its answer is kept a second', async () => {
  const { repo, reads, state, answer } = seatMapRepo(4);
  const clock = new ManualClock();
  const catalog = new CatalogService(repo, clock);
  const asked = Array.from({ length: 50 }, () => catalog.seatAvailability(1, 7));
  const other = catalog.seatAvailability(1, 8);
  await answer(2);
  const maps = await Promise.all(asked);
  assert.deepEqual(reads, [7, 8], 'one read per schedule for the 50 fans who asked at once');
  assert.deepEqual(freeIds(maps[49]), [1, 3, 4]);
  assert.deepEqual(maps[49].held, [2]);
  assert.deepEqual((await other).held, [2]);

  // Another process sells seat 3: this one's copy answers until it is a second old, then reads again.
  state.taken = [...state.taken, { id: 3, status: 'SOLD' }];
  clock.advance(SEAT_MAP_FRESH_MS - 1);
  assert.deepEqual(freeIds(await catalog.seatAvailability(1, 7)), [1, 3, 4]);
  assert.deepEqual(reads, [7, 8]);
  clock.advance(1);
  const next = catalog.seatAvailability(1, 7);
  await answer(1);
  const map = await next;
  assert.deepEqual(reads, [7, 8, 7]);
  assert.deepEqual(map.sold, [3]);
  assert.deepEqual(freeIds(map), [1, 4]);
});

test("a process's own holds, sales and lost races show in its seat map at once; a freed seat makes it read again", async () => {
  const { repo, reads, state, answer } = seatMapRepo(5);
  const catalog = new CatalogService(repo, new ManualClock());
  const first = catalog.seatAvailability(1, 7);
  await answer(1);
  const before = await first;
  catalog.seatClaimed(7, { id: 4, status: 'HELD' });
  const held = await catalog.seatAvailability(1, 7);
  assert.deepEqual(freeIds(held), [1, 3, 5]);
  assert.deepEqual(held.held, [2, 4]);
  assert.deepEqual(freeIds(before), [1, 3, 4, 5], 'an answer already given is not changed under its sender');
  catalog.seatClaimed(7, { id: 4, status: 'SOLD' });
  catalog.seatClaimed(7, { id: 1, status: 'SOLD' });
  const sold = await catalog.seatAvailability(1, 7);
  assert.deepEqual([freeIds(sold), sold.held, sold.sold], [[3, 5], [2], [1, 4]]);
  assert.deepEqual(reads, [7], 'no read for any of these');

  state.taken = [];
  catalog.forgetSeatMap(7);
  const again = catalog.seatAvailability(1, 7);
  await answer(1);
  assert.deepEqual(freeIds(await again), [1, 2, 3, 4, 5]);
  assert.deepEqual(reads, [7, 7]);

  // A claim made while a read is under way: that read may predate it, so it is not kept for later asks.
  const underWay = catalog.seatAvailability(1, 8);
  await new Promise((resolve) => setImmediate(resolve));
  catalog.seatClaimed(8, { id: 5, status: 'HELD' });
  state.taken = [{ id: 5, status: 'HELD' }];
  const after = catalog.seatAvailability(1, 8);
  await answer(2);
  assert.deepEqual(freeIds(await underWay), [1, 2, 3, 4, 5]);
  assert.deepEqual(freeIds(await after), [1, 2, 3, 4]);
  assert.deepEqual(reads, [7, 7, 8, 8]);
  catalog.forgetSchedules();
  const fresh = catalog.seatAvailability(1, 8);
  await answer(1);
  await fresh;
  assert.equal(reads.length, 5, "an operator's change here drops the seat maps too");
});
