import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etaAccuracy } from '../../src/loadtest/flow-metrics.ts';
import { createOnsaleSale } from '../../src/loadtest/onsale-sale.ts';
import { type OnsaleResult, pollsByCrowd, summarizeOnsale } from '../../src/loadtest/onsale-summary.ts';
import { parseLoadtestArgs } from '../../src/loadtest/options.ts';
import { renderConsole } from '../../src/loadtest/report-console.ts';
import { renderHtml } from '../../src/loadtest/report-html.ts';
import { etaPriorFacts, saleServerCharts } from '../../src/loadtest/report-onsale.ts';
import type { LoadResult } from '../../src/loadtest/result.ts';
import { type RunOptions, runLoad } from '../../src/loadtest/runner.ts';
import { type Stub, startStub } from './stub-server.ts';

let stub: Stub;
before(async () => {
  stub = await startStub();
});
after(() => stub.close());

/** An on-sale run against the stub, as `--profile onsale` would plan it, with a small crowd and no think time. */
function onsaleRun(extra: string[]): RunOptions {
  const options = parseLoadtestArgs([
    '--profile',
    'onsale',
    '--target',
    stub.url,
    '--think-scale',
    '0',
    '--graceful-stop',
    '60s',
    ...extra,
  ]);
  assert.ok(options !== 'help');
  return {
    ...options,
    target: stub.url,
    embedded: false,
    workers: 2,
    serverMetricsUrl: `${stub.url}/metrics`,
  };
}

test('--profile onsale plans distinct users joining within the window, honouring pollAfterMs', () => {
  const options = parseLoadtestArgs(['--profile', 'onsale', '--users', '20000', '--sale-seats', '10000']);
  assert.ok(options !== 'help');
  assert.equal(options.scenario, 'onsale');
  assert.equal(options.executor, 'ramping-arrival-rate');
  assert.deepEqual(options.onsale, {
    users: 20_000,
    joinMs: 60_000,
    saleSchedules: 100,
    firstSchedule: 1,
    seatsPerSchedule: 100,
    connections: 512,
    leave: false,
    idempotencyKeys: false,
  });
  assert.equal(options.maxVus, 20_000, 'no user is dropped at a VU cap');
  const second = parseLoadtestArgs(['--profile', 'onsale', '--first-schedule', '101']);
  assert.ok(second !== 'help');
  assert.equal(
    second.onsale?.firstSchedule,
    101,
    'a second sale on the same target sells schedules 101..200',
  );
  assert.throws(() => parseLoadtestArgs(['--profile', 'onsale', '--first-schedule', '0']), /first-schedule/);
  assert.equal(options.flow.honorPollHint, true);
  assert.ok(options.gracefulStopMs >= 10 * 60_000, 'the run waits for the crowd to be served');
  const defaults = parseLoadtestArgs(['--profile', 'onsale']);
  assert.ok(defaults !== 'help');
  assert.equal(defaults.onsale?.users, 100_000);
});

test('with --idempotency-keys every hold, top-up and payment carries its own key, kept when retried', async () => {
  stub.counts.clear();
  stub.writes.length = 0;
  stub.options = { pollsToAdmit: 0, pollAfterMs: 50, seatsPerSchedule: 10, wallet: 500, refuseHolds: 3 };
  const users = 10;
  const run = (keys: string[]) =>
    runLoad(
      onsaleRun([
        '--users',
        String(users),
        '--join-within',
        '1s',
        '--sale-seats',
        '100',
        '--seats-per-schedule',
        '10',
        ...keys,
      ]),
    );
  const result = await run(['--idempotency-keys']);
  assert.equal(result.flows.funnel.paid, users);
  const holds = stub.writes.filter((w) => w.route === 'hold');
  // Lost seat races (409) may add holds, each a new step with a new key; the three refused ones are sent again.
  assert.ok(holds.length >= users + 3);
  assert.equal(stub.writes.filter((w) => w.route === 'charge').length, users);
  assert.equal(stub.writes.filter((w) => w.route === 'pay').length, users);
  assert.ok(
    stub.writes.every((w) => typeof w.key === 'string' && w.key.length > 0),
    'every write has a key',
  );
  const distinct = new Set(stub.writes.map((w) => w.key));
  assert.equal(distinct.size, stub.writes.length - 3, 'a fresh key per step, except the three retried');
  for (const refused of holds.slice(0, 3)) {
    const again = holds.slice(holds.indexOf(refused) + 1).find((h) => h.userId === refused.userId);
    assert.equal(again?.key, refused.key, 'a hold retried after Retry-After sends its key again');
  }
  stub.writes.length = 0;
  stub.options = { pollsToAdmit: 0, pollAfterMs: 50, seatsPerSchedule: 10, wallet: 500 };
  await run(['--first-schedule', '11']);
  assert.ok(
    stub.writes.length > 0 && stub.writes.every((w) => w.key === undefined),
    'no key without the flag',
  );
});

test('every user of a small on-sale crowd joins exactly once, is admitted, tops up and buys a seat', async () => {
  stub.counts.clear();
  stub.issuedTo.clear();
  stub.options = { admitAfterMs: 300, pollAfterMs: 100, seatsPerSchedule: 10, wallet: 500, refuseIssues: 5 };
  const users = 40;
  const result = await runLoad(
    onsaleRun([
      '--users',
      String(users),
      '--join-within',
      '2s',
      '--sale-seats',
      '100',
      '--seats-per-schedule',
      '10',
    ]),
  );
  const f = result.flows.funnel;
  assert.equal(f.started, users);
  assert.equal(stub.issuedTo.size, users, 'distinct user ids');
  assert.deepEqual(
    [...stub.issuedTo.keys()].sort((a, b) => a - b),
    Array.from({ length: users }, (_, i) => i + 1),
    'users 1..N, over both workers',
  );
  assert.ok(
    [...stub.issuedTo.values()].every((n) => n === 1),
    'each issued once',
  );
  assert.equal(f.admitted, users);
  assert.equal(f.held, users, '100 seats for 40 users');
  assert.equal(f.paid, users);
  assert.equal(stub.counts.get('POST charge'), users, 'a 500-point wallet is topped up before a 1000 price');
  assert.equal(f.completed, users);
  const issue = result.endpoints.find((e) => e.route === 'POST /api/users/:userId/token');
  assert.equal(issue?.outcomes.s5xx, 5, 'a refusal is a failure even when the retry succeeds');
  assert.equal(result.totals.failures, 5);
  assert.deepEqual(issue?.failureKinds, { '503 OVERLOADED': 5 }, 'failures are counted by status and code');
  assert.deepEqual(result.totals.failureKinds, { '503 OVERLOADED': 5 });

  const o = result.onsale;
  assert.ok(o);
  assert.equal(o.purchases.total, users);
  assert.equal(o.retried, 5, 'after the Retry-After they were given');
  assert.equal(o.soldOutAtS, null, 'never sold out');
  assert.equal(o.eta.samples, users, 'every user was told an ETA and waited');
  const polls = o.perSecond.reduce((sum, p) => sum + p.polls, 0);
  assert.equal(polls, stub.counts.get('GET token'), 'every poll counted in its second');
  assert.ok(o.generator.peakVus > 0 && o.generator.peakVus <= users);
  // The last user is alive when joining ends (its token request in flight): memory is measured then.
  assert.ok(o.generator.liveVus > 0, 'live memory measured once every user had joined');
  assert.ok(Number.isFinite(o.generator.heapPerVuBytes) && o.generator.heapPerVuBytes >= 0);
  assert.ok(o.generator.rssPeakBytes > 0);
  assert.ok(o.generator.rssDeltaBytes >= 0);
  assert.ok(o.pollsByCrowd.length > 0);

  const text = renderConsole(result);
  assert.match(text, /time to admission\s+p50 [\d.]+ s/);
  assert.match(text, /ETA accuracy\s+\|error\|\/wait p50/);
  assert.match(text, /KiB\/VU/);
  assert.match(text, /polls per second by crowd in line/);
  assert.match(text, /^failures by kind:\n {2}POST \/api\/users\/:userId\/token: 503 OVERLOADED 5$/m);
  const html = renderHtml(result);
  assert.match(html, /<h2>On-sale<\/h2>/);
  assert.match(html, /<td>503 OVERLOADED 5<\/td>/);
  assert.match(html, /Purchases per second/);
});

test('a sale of fewer seats than fans sells out, and the sell-out is detected', async () => {
  stub.counts.clear();
  stub.options = { admitAfterMs: 0, pollAfterMs: 50, seatsPerSchedule: 3, wallet: 5000 };
  const users = 30;
  const result = await runLoad(
    onsaleRun([
      '--users',
      String(users),
      '--join-within',
      '1s',
      '--sale-seats',
      '6',
      '--seats-per-schedule',
      '3',
      '--leave',
    ]),
  );
  const o = result.onsale;
  assert.ok(o);
  assert.equal(o.plan.saleSchedules, 2);
  assert.ok(result.flows.funnel.paid <= 6, `at most 6 seats sold: ${result.flows.funnel.paid}`);
  assert.ok(result.flows.funnel.paid > 0);
  assert.equal(typeof o.soldOutAtS, 'number', 'sold out');
  assert.ok((o.soldOutAtS ?? -1) >= 0);
  assert.equal(o.schedulesFoundSoldOut, 2);
  assert.ok(o.turnedAway > 0, 'later fans found nothing left');
  const left = stub.counts.get('DELETE token') ?? 0;
  assert.ok(left >= o.turnedAway, `with --leave, fans who give up leave the line: ${left} left`);
  assert.equal(result.flows.funnel.completed, users, 'turned-away fans end their flow, not abort it');
  assert.equal(result.totals.failures, 0);
});

test('ETA accuracy on a stub that tells 1 s and admits after 2 s: every user waited about twice as long', async () => {
  stub.options = { admitAfterMs: 2000, etaSeconds: 1, pollAfterMs: 100 };
  const users = 10;
  const result = await runLoad(onsaleRun(['--users', String(users), '--join-within', '1s']));
  const eta = result.onsale?.eta;
  assert.ok(eta);
  assert.equal(eta.samples, users);
  // Admission comes 2 s after issue at the earliest, whatever the machine's load: the ETA is short by half or more.
  assert.ok(eta.signedP90 <= -0.45, `told too little: signed p90 ${eta.signedP90}`);
  assert.ok(eta.absP50 >= 0.45, `|error| p50 ${eta.absP50}`);
  assert.equal(eta.goalMet, false);
  // The interval figure is never worse than the midpoint's: the midpoint lies inside the span it measures to.
  const inSpan = result.onsale?.etaInterval;
  assert.ok(inSpan);
  assert.equal(inSpan.samples, users);
  assert.ok(inSpan.signedP90 <= 0 && inSpan.absP50 <= eta.absP50, JSON.stringify(inSpan));
  for (const [, , , waited, lo, hi] of result.onsale?.etaSamples ?? []) {
    assert.ok(
      lo !== undefined && hi !== undefined && lo <= waited + 0.05 && waited <= hi + 0.05,
      'rows carry both bounds',
    );
  }
});

test('ETAs withheld while the server measures (null, ESTIMATING): told later, counted apart; never told, counted too', async () => {
  stub.options = { admitAfterMs: 1500, etaWithheldForMs: 600, pollAfterMs: 100 };
  const users = 10;
  const told = (await runLoad(onsaleRun(['--users', String(users), '--join-within', '1s']))).onsale;
  assert.ok(told?.etaWithheld);
  assert.equal(told.etaWithheld.toldLate, users);
  assert.equal(told.etaWithheld.admittedUntold, 0);
  assert.ok(
    told.etaWithheld.toldLateP50S >= 0.5 && told.etaWithheld.toldLateP90S < 1.5,
    JSON.stringify(told.etaWithheld),
  );
  // The ETA counts from when it was told: the samples are the told ones, their wait from then.
  assert.equal(told.etaInterval?.samples, users);
  stub.options = { admitAfterMs: 800, etaWithheldForMs: 5000, pollAfterMs: 100 };
  const never = (await runLoad(onsaleRun(['--users', String(users), '--join-within', '1s']))).onsale;
  assert.deepEqual(
    [never?.etaWithheld?.admittedUntold, never?.etaWithheld?.toldLate, never?.etaInterval?.samples],
    [users, 0, 0],
  );
});

test('a sale created through the admin API: the crowd pre-queues, the ETA counts from after the opening, and SOLD_OUT ends the wait', async () => {
  const opensInMs = 1500;
  await assert.rejects(createOnsaleSale(stub.url, 'wrong-key', { first: 1, count: 3 }, opensInMs), /401/);
  const later = await createOnsaleSale(stub.url, 'operator-key', { first: 101, count: 3 }, opensInMs);
  assert.deepEqual(
    stub.salesCreated.at(-1)?.scheduleIds,
    [101, 102, 103],
    'a second run sells other schedules',
  );
  assert.equal(later.saleId, 7);
  const sale = await createOnsaleSale(stub.url, 'operator-key', { first: 1, count: 3 }, opensInMs);
  assert.equal(sale.saleId, 7);
  assert.deepEqual(stub.salesCreated.at(-1)?.scheduleIds, [1, 2, 3]);
  stub.counts.clear();
  stub.options = {
    admitAfterMs: 2500,
    etaSeconds: 42,
    pollAfterMs: 100,
    prequeueUntil: sale.opensAtEpochMs,
    soldOutAfter: 4,
    wallet: 5000,
  };
  const run = onsaleRun(['--users', '10', '--join-within', '500ms']);
  assert.ok(run.onsale);
  run.onsale.sale = sale;
  const result = await runLoad(run);
  const o = result.onsale;
  assert.ok(o);
  assert.equal(stub.counts.get('seed token') ?? 0, 0, 'the fans used the sale’s routes only');
  assert.ok((stub.counts.get('sale token') ?? 0) >= 20);
  assert.ok(result.endpoints.some((e) => e.route === 'GET /api/sales/:saleId/users/:userId/token'));
  assert.equal(result.flows.funnel.admitted, 4, 'four admitted before the sale sold out');
  assert.equal(o.endedInLine, 6, 'the six others were told SOLD_OUT and stopped waiting');
  assert.equal(o.eta.samples, 4);
  // The countdown to the opening (2 s at most) is not taken for an ETA of admission: the line's 42 s is.
  assert.deepEqual(
    o.etaSamples.map(([, , told]) => told),
    [42, 42, 42, 42],
  );
  assert.equal(o.sale?.saleId, 7);
  assert.equal(result.totals.failures, 0);
  assert.equal(result.flows.funnel.completed, 10);
});

test('a run cut by a tiny --duration still reports everything measured, marked cut short', async () => {
  stub.counts.clear();
  stub.issuedTo.clear();
  // Nobody is admitted before the cap; once every fan has polled, every answer is held back past the cap.
  stub.options = { admitAfterMs: 60_000, pollAfterMs: 100 };
  const users = 20;
  // The cap leaves room for slow worker start-up on a loaded machine: every fan must have joined before it.
  const run = onsaleRun(['--users', String(users), '--join-within', '300ms', '--duration', '4000ms']);
  const stall = setInterval(() => {
    if ((stub.counts.get('GET token') ?? 0) < users || stub.options.stallUntil) return;
    stub.options = { ...stub.options, stallUntil: Date.now() + 10_000 };
  }, 10);
  const result = await runLoad(run);
  clearInterval(stall);
  assert.equal(result.cutShort?.reason, 'duration-cap');
  assert.equal(result.cutShort?.workersMissing, 0, 'both workers reported');
  assert.equal(result.cutShort?.workersCut, 2);
  assert.ok((result.cutShort?.requestsCut ?? 0) > 0, 'polls in flight at the cap were ended');
  assert.equal(result.totals.failures, 0, 'requests the run cut are not failures of the target');
  assert.equal(result.flows.funnel.started, users);
  assert.equal(result.flows.funnel.aborted, users, 'every waiting fan was cut');
  const poll = result.endpoints.find((e) => e.route === 'GET /api/users/:userId/token');
  assert.ok((poll?.count ?? 0) > 0, 'the polls answered before the cap are in the table');
  const o = result.onsale;
  assert.ok(o, 'the on-sale summary is there');
  assert.equal(o.abortedBy?.['run halted'] ?? 0, users - (o.abortedBy?.['poll cut'] ?? 0));
  assert.ok(o.perSecond.some((p) => p.polls > 0));
  assert.ok(o.generator.liveVus > 0, 'memory per virtual user measured at the cut');
  assert.match(renderConsole(result), /^RUN CUT SHORT by the --duration cap at [\d.]+ s/m);
  assert.match(renderHtml(result), /RUN CUT SHORT/);
});

test('ETA accuracy: relative errors, their percentiles, and the 20 % goal', () => {
  // Told 10 s each; waits of 8..12.5 s and one of 20 s.
  const told = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10];
  const waited = [8, 9, 10, 10, 10, 10, 11, 12, 12.5, 20];
  const eta = etaAccuracy(told, waited);
  assert.equal(eta.samples, 10);
  // Signed, sorted: -.5, -.2, -.1667, -.0909, 0, 0, 0, 0, .1111, .25 (nearest rank).
  assert.equal(eta.absP50, 0.091);
  assert.equal(eta.absP90, 0.25);
  assert.equal(eta.absP99, 0.5);
  assert.equal(eta.signedP50, 0);
  assert.equal(eta.signedP10, -0.5);
  assert.equal(eta.signedP90, 0.111);
  assert.equal(eta.within20, 0.8);
  assert.equal(eta.goalMet, false);
  assert.equal(etaAccuracy([10, 10], [10, 9]).goalMet, true);
  assert.equal(etaAccuracy([3], [0.2]).absP50, 2.8, 'waits under a second count as one second');
});

test('polls per second are grouped by crowd size on a log scale', () => {
  const rows = pollsByCrowd([
    { second: 0, polls: 100, waiting: 900, purchases: 0 },
    { second: 1, polls: 120, waiting: 1100, purchases: 0 },
    { second: 2, polls: 400, waiting: 10_000, purchases: 0 },
    { second: 3, polls: 0, waiting: 0, purchases: 0 },
  ]);
  assert.deepEqual(rows, [
    { waiting: 1000, seconds: 2, meanWaiting: 1000, pollsPerSecond: 110, pollsPerUserSecond: 0.11 },
    { waiting: 10_000, seconds: 1, meanWaiting: 10_000, pollsPerSecond: 400, pollsPerUserSecond: 0.04 },
  ]);
});

test("the HTML report charts the server's admission rate, pool waits (all classes) and event-loop delay", () => {
  const server = (i: number) => ({
    ticketrush_admit_rate_per_second: 200,
    'rate(ticketrush_db_pool_wait_seconds_sum{class="hold"})': 0.01 * i,
    'rate(ticketrush_db_pool_wait_seconds_count{class="hold"})': 2,
    'rate(ticketrush_db_pool_wait_seconds_sum{class="catalog"})': 0.01 * i,
    'rate(ticketrush_db_pool_wait_seconds_count{class="catalog"})': 2,
    nodejs_eventloop_lag_p99_seconds: 0.02,
  });
  const timeline = [0, 1, 2].map((i) => ({ second: i, server: server(i) }));
  const charts: string[] = [];
  saleServerCharts({ timeline } as unknown as LoadResult, (title, series) => {
    charts.push(`${title}: ${series.map((s) => `${s.name}=${s.values.join('/')}`).join(', ')}`);
    return '';
  });
  assert.deepEqual(charts, [
    'Server: admission rate: admit rate setting=200/200/200',
    'Server: database pool waits: mean wait (ms)=0/5/10',
    'Server: event-loop delay: lag p99=20/20/20',
  ]);
});

test("a sale run charts the sale's own series, counts its crowd and its sell-out from them", () => {
  const plan = {
    users: 10,
    joinMs: 1000,
    saleSchedules: 1,
    firstSchedule: 1,
    seatsPerSchedule: 5,
    connections: 4,
    leave: false,
    idempotencyKeys: false,
    sale: { saleId: 9, opensAtEpochMs: 0 },
  };
  const sale = (name: string) => `ticketrush_sale_${name}{sale="9"}`;
  const server = (i: number) => ({
    ticketrush_queue_waiting: 0,
    'rate(ticketrush_queue_admissions_total)': 0,
    [sale('waiting')]: [10, 8, 3, 0][i],
    [sale('active')]: [0, 2, 5, 1][i],
    [sale('admitted_total')]: [0, 2, 7, 7][i],
    [sale('admit_per_second')]: 200,
    [sale('pace_per_second')]: [200, 200, 100, 110][i],
    [sale('window')]: [0, 400, 280, 308][i],
    [sale('holds')]: [0, 2, 1, 0][i],
    [sale('sold')]: [0, 0, 4, 5][i],
  });
  const timeline = [0, 1, 2, 3].map((i) => ({
    second: i,
    server: server(i),
  })) as unknown as LoadResult['timeline'];
  const o = summarizeOnsale(plan, [], timeline, 0, 10);
  assert.equal(o.waitingSource, 'server');
  assert.deepEqual(
    o.perSecond.map((p) => p.waiting),
    [10, 8, 3, 0],
    "the sale's line, not the default line's flat gauge",
  );
  assert.equal(o.soldOutAtS, 3);
  assert.equal(o.soldOutSource, 'server-sold');
  const charts: string[] = [];
  saleServerCharts({ timeline, onsale: o } as unknown as LoadResult, (title, series) => {
    charts.push(`${title}: ${series.map((s) => `${s.name}=${s.values.join('/')}`).join(', ')}`);
    return '';
  });
  assert.deepEqual(charts.slice(0, 2), [
    "Server: admission rate: sale's pace (the controller's)=200/200/100/110, sale's admit rate (measured)=200/200/200/200, admitted/s=0/2/5/0",
    "Server: sale 9's line and seats: waiting (pre-queue included)=10/8/3/0, active=0/2/5/1, active window=0/400/280/308, seats held=0/2/1/0, seats sold=0/0/4/5",
  ]);
});

test('the report names the ETA prior the sale opened with and the one the server learned by the end', () => {
  const prior = (second: number, value?: number) => ({
    second,
    server: value === undefined ? undefined : { ticketrush_eta_prior_session_seconds: value },
  });
  const timeline = [prior(0, 10), prior(1), prior(2, 10), prior(3, 10), prior(4, 6.615270842666303)];
  const result = { timeline } as unknown as LoadResult;
  const facts = etaPriorFacts(result, { sale: { saleId: 9, opensAtS: 1.5 } } as unknown as OnsaleResult);
  assert.equal(facts.length, 1);
  assert.match(facts[0][1], /^10 s at the opening .*; 6\.6 s at the end$/);
  // A server without the gauge (an older one): no row rather than a made-up figure.
  const older = {
    timeline: [{ second: 0, server: { ticketrush_admit_window: 5 } }],
  } as unknown as LoadResult;
  assert.deepEqual(etaPriorFacts(older, {} as OnsaleResult), []);
});
