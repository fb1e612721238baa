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
