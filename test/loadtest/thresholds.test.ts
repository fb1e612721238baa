import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { LoadResult } from '../../src/loadtest/result.ts';
import { evaluateThresholds, parseThreshold } from '../../src/loadtest/thresholds.ts';

const fixture = (): LoadResult =>
  JSON.parse(readFileSync(new URL('./fixtures/result.json', import.meta.url), 'utf8'));

test('thresholds parse with units and routes', () => {
  assert.deepEqual(parseThreshold('http_p99<200'), {
    expression: 'http_p99<200',
    metric: 'http_p99',
    route: undefined,
    op: '<',
    value: 200,
  });
  assert.equal(parseThreshold('http_p95<=1.5s').value, 1500);
  assert.equal(parseThreshold('failures<0.1%').value, 0.001);
  assert.equal(parseThreshold('failures<0.01').value, 0.01);
  assert.equal(parseThreshold('http_p95{POST /api/reservations}<500').route, 'POST /api/reservations');
  assert.throws(() => parseThreshold('latency<200'), /unknown threshold metric/);
  assert.throws(() => parseThreshold('http_p99 about 200'), /bad threshold/);
  assert.throws(() => parseThreshold('http_p99<5%'), /only applies to failures/);
});

test('thresholds evaluate against a stored result', () => {
  const result = fixture();
  const p99 = result.totals.p99Ms;
  const [above, below, failures, route, missing] = evaluateThresholds(
    [
      parseThreshold(`http_p99<${p99 + 1}`),
      parseThreshold(`http_p99<${p99 / 2}`),
      parseThreshold('failures<50%'),
      parseThreshold('tps{POST /api/users/:userId/token}>0'),
      parseThreshold('http_p99{GET /nowhere}<1000'),
    ],
    result,
  );
  assert.equal(above.ok, true);
  assert.equal(below.ok, false);
  assert.equal(failures.ok, true);
  assert.equal(route.ok, true);
  assert.equal(missing.ok, false, 'a route without traffic must not pass');
});
