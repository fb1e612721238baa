import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeHistogram, mergeEncoded, newHistogram, summarize } from '../../src/loadtest/histogram.ts';

test('histograms merged from encoded parts equal one histogram of all values', () => {
  const whole = newHistogram();
  const parts = [newHistogram(), newHistogram(), newHistogram()];
  let seed = 7;
  for (let i = 0; i < 30_000; i++) {
    seed = (seed * 48271) % 2147483647;
    const value = 1 + (seed % 5_000_000); // 1 µs .. 5 s
    whole.recordValue(value);
    parts[i % 3].recordValue(value);
  }
  const merged = mergeEncoded(parts.map(encodeHistogram));
  assert.equal(merged.totalCount, whole.totalCount);
  assert.deepEqual(summarize(merged), summarize(whole));
  for (const p of [1, 50, 90, 99, 99.9, 99.99, 100]) {
    assert.equal(merged.getValueAtPercentile(p), whole.getValueAtPercentile(p), `p${p}`);
  }
});
