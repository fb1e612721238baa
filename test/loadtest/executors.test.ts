import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunOptions } from '../../src/loadtest/runner.ts';
import { runLoad } from '../../src/loadtest/runner.ts';
import { levelAt, parseStages } from '../../src/loadtest/stages.ts';
import { type Stub, startStub } from './stub-server.ts';

let stub: Stub;
before(async () => {
  stub = await startStub();
});
after(() => stub.close());

const plan = (overrides: Partial<RunOptions>): RunOptions => ({
  target: stub.url,
  embedded: false,
  scenario: 'token',
  executor: 'ramping-vus',
  profile: parseStages('1s:1'),
  profileName: 'custom',
  workers: 0,
  flow: { thinkScale: 0, honorPollHint: true, maxPolls: 50, raceSchedules: 5, paymentSchedules: 99_999 },
  timeoutMs: 10_000,
  gracefulStopMs: 3000,
  durationCapMs: 20_000,
  maxRequests: 1_000_000,
  maxVus: 200,
  ...overrides,
});

test('ramping-vus follows its stages second by second, on two worker threads, and stops by itself', async () => {
  stub.options = { pollsToAdmit: 0, delayMs: 20 };
  const profile = parseStages('2s:6,2s:6,2s:0');
  const result = await runLoad(plan({ profile, workers: 2 }));
  // Threads boot before the shared start (slowly on a loaded machine); the run is timed from that start.
  const started = Date.parse(result.startedAt);
  const vus = result.timeline.map((p) => p.vus);
  // Each second's peak is the level the profile reaches by its end (ramp-up) or holds (plateau).
  for (const second of [0, 1]) {
    const expected = Math.floor(levelAt(profile, second * 1000 + 999));
    assert.ok(
      Math.abs(vus[second] - expected) <= 1,
      `second ${second}: ${vus[second]} VUs, want ${expected} (${vus})`,
    );
  }
  assert.deepEqual(vus.slice(2, 4), [6, 6], `plateau at 6 VUs: ${vus}`);
  assert.ok(vus[5] <= 3 && vus[5] < vus[4], `ramping down one at a time: ${vus}`);
  assert.ok(Date.now() - started < 9000, 'the run ends on its own');
  assert.equal(result.generator.workers.length, 2);
  const issue = result.endpoints.find((e) => e.route === 'POST /api/users/:userId/token');
  assert.ok(issue && issue.count > 300, 'closed loop keeps the VUs busy');
  assert.equal(issue.count, stub.counts.get('POST token'), 'every request is counted once across workers');
  stub.counts.clear();
});

test('ramping-arrival-rate starts flows at the set rate, split over two workers', async () => {
  stub.options = { pollsToAdmit: 0, delayMs: 5 };
  const result = await runLoad(
    plan({
      executor: 'ramping-arrival-rate',
      profile: { start: 20, stages: [{ durationMs: 3000, target: 20 }] },
      workers: 2,
    }),
  );
  assert.equal(result.flows.funnel.started, 60);
  const perSecond = result.timeline.slice(0, 3).map((p) => p.rps);
  for (const rps of perSecond) assert.ok(rps >= 18 && rps <= 22, `about 20 flows/s: ${perSecond}`);
});

test('a 2 s stall shows up in open-model latencies, measured from the intended start', async () => {
  const profile = { start: 20, stages: [{ durationMs: 3000, target: 20 }] };
  stub.options = { pollsToAdmit: 0, stallUntil: Date.now() + 2000 };
  const open = await runLoad(plan({ executor: 'ramping-arrival-rate', profile }));
  const openIssue = open.endpoints.find((e) => e.route === 'POST /api/users/:userId/token')!;
  // 40 of 60 flows were due during the stall: they waited from 2 s down to 0.
  assert.ok(openIssue.p50Ms >= 300, `the stall reaches the median: p50 ${openIssue.p50Ms}`);
  assert.ok(openIssue.p90Ms >= 1000, `p90 ${openIssue.p90Ms}`);
  assert.ok(openIssue.maxMs >= 1800, `the first flow waited about 2 s: max ${openIssue.maxMs}`);

  // The closed model with 2 VUs sees the same stall on 2 requests only: coordinated omission.
  stub.options = { pollsToAdmit: 0, stallUntil: Date.now() + 2000 };
  const closed = await runLoad(plan({ profile: { start: 2, stages: [{ durationMs: 3000, target: 2 }] } }));
  const closedIssue = closed.endpoints.find((e) => e.route === 'POST /api/users/:userId/token')!;
  assert.ok(closedIssue.p90Ms < 100, `closed model hides the stall: p90 ${closedIssue.p90Ms}`);
  assert.ok(closedIssue.maxMs >= 1800, 'though its max still shows it');
});

test('a full payment flow walks the funnel; business outcomes are not failures; server metrics are scraped', async () => {
  stub.options = { pollsToAdmit: 2 };
  const result = await runLoad(
    plan({
      scenario: 'payment',
      executor: 'ramping-arrival-rate',
      profile: { start: 10, stages: [{ durationMs: 2000, target: 10 }] },
      flow: { thinkScale: 0.01, honorPollHint: true, maxPolls: 50, raceSchedules: 5, paymentSchedules: 5 },
      serverMetricsUrl: `${stub.url}/metrics`,
    }),
  );
  const f = result.flows.funnel;
  assert.equal(f.started, 20);
  assert.equal(f.issued, 20);
  assert.equal(f.admitted, 20);
  assert.equal(f.completed, 20);
  assert.ok(f.held > 0 && f.held <= 15, `held ${f.held}: 5 schedules of 3 seats`);
  assert.ok(f.paid > 0 && f.paid < f.held, `paid ${f.paid}`);
  assert.ok(result.flows.admission.p50Ms >= 90, 'two polls at pollAfterMs (50 ms) before admission');
  assert.equal(result.totals.failures, 0);
  const business = Object.values(result.totals.business).reduce((a, b) => a + b, 0);
  assert.ok(business > 0, 'seat taken / insufficient points counted apart');
  assert.ok(result.totals.outcomes.s409 > 0);
  assert.ok(result.timeline.some((p) => p.server && 'queue_waiting' in p.server));
});

test('--max-requests bounds a run', async () => {
  stub.options = { pollsToAdmit: 0 };
  const started = Date.now();
  const result = await runLoad(plan({ profile: parseStages('10s:5'), maxRequests: 200 }));
  assert.ok(
    result.totals.count >= 200 && result.totals.count < 220,
    `stopped near the cap: ${result.totals.count}`,
  );
  assert.ok(Date.now() - started < 5000);
});

test('--duration cuts a long profile short, open model included', async () => {
  stub.options = { pollsToAdmit: 0 };
  const started = Date.now();
  const result = await runLoad(
    plan({ executor: 'ramping-arrival-rate', profile: parseStages('30s:50'), durationCapMs: 1500 }),
  );
  assert.ok(Date.now() - started < 4000, 'stopped at the cap');
  assert.ok(result.flows.funnel.started > 0);
});
