import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import { SEAT_MAP_FRESH_MS, SeatMapCopies, withClaim } from '../../src/domain/seat-map-copies.ts';
import type { SeatAvailability } from '../../src/domain/seats.ts';

const seat = (id: number) => ({ id, number: id, grade: 'R', price: 10 });
const mapOf = (free: number[], held: number[] = [], sold: number[] = []): SeatAvailability => ({
  free: free.map(seat),
  held,
  sold,
});

test('a claim takes the seat out of the free ones and files it, sorted, as held or sold', () => {
  const before = mapOf([1, 2, 3, 5], [4]);
  const held = withClaim(before, { id: 2, status: 'HELD' });
  assert.deepEqual(held, mapOf([1, 3, 5], [2, 4]));
  assert.deepEqual(withClaim(held, { id: 4, status: 'SOLD' }), mapOf([1, 3, 5], [2], [4]));
  assert.deepEqual(before, mapOf([1, 2, 3, 5], [4]), 'the map it was given is left as it was');
});

test('copies past their second are dropped once a second, so a process keeps only the maps read lately', async () => {
  const clock = new ManualClock();
  const copies = new SeatMapCopies(clock);
  for (let id = 1; id <= 50; id++) await copies.get(id, async () => mapOf([1]));
  assert.equal(copies.size, 50);
  clock.advance(SEAT_MAP_FRESH_MS / 2);
  await copies.get(51, async () => mapOf([1]));
  assert.equal(copies.size, 51, 'none is a second old yet');
  clock.advance(SEAT_MAP_FRESH_MS / 2);
  await copies.get(52, async () => mapOf([1]));
  assert.equal(copies.size, 2, 'the 50 a second old are gone; 51 and 52 stay');
});

test('a read that fails is not kept: the next ask reads again', async () => {
  const copies = new SeatMapCopies(new ManualClock());
  await assert.rejects(
    copies.get(1, async () => {
      throw new Error('connection lost');
    }),
  );
  assert.deepEqual(await copies.get(1, async () => mapOf([7])), mapOf([7]));
});
