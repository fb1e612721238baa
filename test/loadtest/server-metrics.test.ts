import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseSeries, parsePrometheus } from '../../src/loadtest/server-metrics.ts';

test("the server's own series are charted before the runtime's, and the runtime's noise last", () => {
  const runtimeNoise = Array.from(
    { length: 80 },
    (_, i) => `nodejs_heap_space_size_total_bytes{space="s${i}"}`,
  );
  const keys = [
    ...runtimeNoise,
    'nodejs_eventloop_lag_p99_seconds',
    'process_resident_memory_bytes',
    'ticketrush_queue_waiting',
    'ticketrush_overload_shed_total{level="shed"}',
    'ticketrush_admit_rate_per_second',
  ];
  const chosen = chooseSeries(keys, 6);
  assert.deepEqual(chosen, [
    'ticketrush_queue_waiting',
    'ticketrush_overload_shed_total{level="shed"}',
    'ticketrush_admit_rate_per_second',
    'nodejs_eventloop_lag_p99_seconds',
    'process_resident_memory_bytes',
    'nodejs_heap_space_size_total_bytes{space="s0"}',
  ]);
});

test('Prometheus text: gauges and counters with labels, histogram buckets left out', () => {
  const { values } = parsePrometheus(
    [
      '# TYPE ticketrush_queue_waiting gauge',
      'ticketrush_queue_waiting 42',
      '# TYPE http_requests_total counter',
      'http_requests_total{route="/a",status="200"} 7',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.1"} 3',
    ].join('\n'),
  );
  assert.deepEqual(values, {
    ticketrush_queue_waiting: 42,
    'http_requests_total{route="/a",status="200"}': 7,
  });
});

test("an application histogram's _sum and _count are kept as counters, so pool waits can be charted", () => {
  const { values, types } = parsePrometheus(
    [
      '# TYPE ticketrush_db_pool_wait_seconds histogram',
      'ticketrush_db_pool_wait_seconds_bucket{le="0.01"} 3',
      'ticketrush_db_pool_wait_seconds_sum 0.25',
      'ticketrush_db_pool_wait_seconds_count 5',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_sum{route="/a"} 9',
    ].join('\n'),
  );
  assert.deepEqual(values, {
    ticketrush_db_pool_wait_seconds_sum: 0.25,
    ticketrush_db_pool_wait_seconds_count: 5,
  });
  assert.equal(types.ticketrush_db_pool_wait_seconds_sum, 'counter');
});
