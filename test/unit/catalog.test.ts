import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap } from '../../src/domain/bounded-map.ts';
import { type CatalogRepository, CatalogService, seatOf } from '../../src/domain/catalog.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { seatPrice } from '../../src/domain/pricing.ts';

const schedule = {
  id: 7,
  concertId: 1,
  startsAt: 0,
  seatCount: 100,
  basePrice: 50_000,
  venue: 'KSPO Dome',
  seatMap: 'tiered' as const,
};

test('seat tiers: front tenth VIP, next three tenths R, the rest S, all integers', () => {
  assert.equal(seatPrice(50_000, 1, 100), 150_000);
  assert.equal(seatPrice(50_000, 10, 100), 150_000);
  assert.equal(seatPrice(50_000, 11, 100), 100_000);
  assert.equal(seatPrice(50_000, 40, 100), 100_000);
  assert.equal(seatPrice(50_000, 41, 100), 50_000);
  assert.equal(seatOf(schedule, 100).grade, 'S');
});

test('a seat outside 1..seatCount does not exist', () => {
  for (const id of [0, 101, -1, 1.5]) {
    assert.throws(() => seatOf(schedule, id), { code: 'SEAT_NOT_FOUND' });
  }
});

test('a schedule is read once however many holds ask at once; an unknown one is asked again', async () => {
  const reads: number[] = [];
  let published = false;
  const repo = {
    findSchedule: async (id: number) => {
      reads.push(id);
      await new Promise((r) => setTimeout(r, 5));
      return id === 7 || published ? { ...schedule, id } : undefined;
    },
  } as unknown as CatalogRepository;
  const catalog = new CatalogService(repo, new ManualClock());
  const seen = await Promise.all(Array.from({ length: 50 }, () => catalog.getSchedule(7)));
  assert.ok(seen.every((s) => s.basePrice === 50_000));
  await catalog.getSchedule(7);
  assert.deepEqual(reads, [7]);
  await assert.rejects(catalog.getSchedule(8), { code: 'SCHEDULE_NOT_FOUND' });
  published = true;
  assert.equal((await catalog.getSchedule(8)).id, 8);
  assert.deepEqual(reads, [7, 8, 8]);
  await assert.rejects(catalog.getSchedule(7, 2), { code: 'SCHEDULE_NOT_FOUND' });
});

test('a bounded map forgets its oldest entry when full', () => {
  const m = new BoundedMap<number, string>(2);
  m.set(1, 'a').set(2, 'b').set(2, 'B').set(3, 'c');
  assert.deepEqual(
    [...m],
    [
      [2, 'B'],
      [3, 'c'],
    ],
  );
});
