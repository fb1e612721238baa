import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrivalTime, partOf } from '../../src/loadtest/executors.ts';
import {
  arrivalsBy,
  levelAt,
  PROFILES,
  parseDuration,
  parseStages,
  totalDurationMs,
} from '../../src/loadtest/stages.ts';

test('durations and stages parse like k6', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.throws(() => parseDuration('3 parsecs'));
  const p = parseStages('30s:100,1m:500,10s:0');
  assert.deepEqual(p.stages, [
    { durationMs: 30_000, target: 100 },
    { durationMs: 60_000, target: 500 },
    { durationMs: 10_000, target: 0 },
  ]);
  assert.throws(() => parseStages('30s'), /duration:target/);
});

test('the seed profile is the seed report: 500 VUs for 4 min, up to 2000, down to 0 in 8 min', () => {
  const seed = PROFILES.seed;
  assert.equal(totalDurationMs(seed), 8 * 60_000);
  assert.equal(levelAt(seed, 0), 500);
  assert.equal(levelAt(seed, 3 * 60_000), 500);
  assert.equal(levelAt(seed, 5 * 60_000), 1250);
  assert.equal(levelAt(seed, 6.5 * 60_000), 2000);
  assert.equal(levelAt(seed, 8 * 60_000), 0);
});

test('worker parts of a level add up to the level', () => {
  for (const level of [0, 1, 5, 7.9, 100, 2000]) {
    let sum = 0;
    for (let i = 0; i < 3; i++) sum += partOf(level, i, 3);
    assert.equal(sum, Math.floor(level));
  }
});

test('arrival times follow the rate integral', () => {
  const p = parseStages('2s:10,2s:10'); // ramp 0->10/s over 2 s, then 10/s for 2 s
  assert.equal(arrivalsBy(p, 2000), 10);
  assert.equal(arrivalsBy(p, 4000), 30);
  const t = arrivalTime(p, 20, 0, 4000);
  assert.ok(Math.abs(t - 3000) < 1, `20th arrival at ${t}`);
  assert.equal(arrivalTime(p, 31, 0, 4000), Number.POSITIVE_INFINITY);
});
