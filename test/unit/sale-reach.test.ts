import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placesTheSeatsServe } from '../../src/domain/sales/sale-rooms.ts';

const inventory = (free: number, held: number) => ({ free, held, sold: 0 });

test('at the opening every seat is free: the places served are the seats with the overbook', () => {
  assert.equal(placesTheSeatsServe(inventory(1000, 0), 1.25, 0), 1250);
});

test('admitted fans without a seat yet come first: a full room leaves no place in line an ETA', () => {
  // 50 sold, 25 held, 1193 admitted (the window shrank with the seats): 1168 still trying for 925 seats.
  assert.equal(placesTheSeatsServe(inventory(925, 25), 1.25, 1193), 0);
});

test('as admitted fans leave without a seat, places open again', () => {
  assert.equal(placesTheSeatsServe(inventory(500, 100), 1.25, 300), 425);
  assert.equal(placesTheSeatsServe(inventory(0, 10), 1.25, 10), 0);
});
