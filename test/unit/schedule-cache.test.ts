import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CatalogRepository,
  CatalogService,
  SCHEDULE_CACHE_MS,
  type TakenSeat,
} from '../../src/domain/catalog.ts';
import { ManualClock } from '../../src/domain/clock.ts';

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

test('fans asking for a seat map while its read is under way share that read; the next ask reads again', async () => {
  const reads: number[] = [];
  let taken: TakenSeat[] = [{ id: 2, status: 'HELD' }];
  const answers: Array<() => void> = [];
  const repo = {
    findSchedule: async (id: number) => ({
      id,
      concertId: 1,
      startsAt: 0,
      seatCount: 4,
      basePrice: 10,
      venue: 'v',
      seatMap: 'tiered',
    }),
    takenSeats: (scheduleId: number) => {
      reads.push(scheduleId);
      const now = taken;
      return new Promise((resolve) => answers.push(() => resolve(now)));
    },
  } as unknown as CatalogRepository;
  const catalog = new CatalogService(repo, new ManualClock());
  const asked = Array.from({ length: 50 }, () => catalog.seatAvailability(1, 7));
  const other = catalog.seatAvailability(1, 8);
  while (answers.length < 2) await new Promise((resolve) => setImmediate(resolve));
  for (const answer of answers.splice(0)) answer();
  const maps = await Promise.all(asked);
  assert.deepEqual(reads, [7, 8], 'one read per schedule for the 50 fans who asked at once');
  assert.deepEqual(
    maps[49].free.map((s) => s.id),
    [1, 3, 4],
  );
  assert.deepEqual(maps[49].held, [2]);
  assert.deepEqual((await other).held, [2]);

  // The read is answered: nothing is kept, so a seat taken since shows in the next map.
  taken = [...taken, { id: 3, status: 'SOLD' }];
  const next = catalog.seatAvailability(1, 7);
  while (answers.length < 1) await new Promise((resolve) => setImmediate(resolve));
  answers.splice(0)[0]();
  const map = await next;
  assert.deepEqual(reads, [7, 8, 7]);
  assert.deepEqual(map.sold, [3]);
  assert.deepEqual(
    map.free.map((s) => s.id),
    [1, 4],
  );
});
