import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CatalogRepository, CatalogService, SCHEDULE_CACHE_MS } from '../../src/domain/catalog.ts';
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
