import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seatOf } from '../../src/domain/catalog.ts';
import { seatPrice } from '../../src/domain/pricing.ts';

const schedule = { id: 7, concertId: 1, startsAt: 0, seatCount: 100, basePrice: 50_000 };

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
