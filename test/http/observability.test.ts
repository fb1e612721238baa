import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { createPool as createMysqlPool } from 'mysql2';
import { loadConfig } from '../../src/config.ts';
import { type AcquireClass, AcquireQueue } from '../../src/db/acquire-queue.ts';
import type { Database } from '../../src/db/database.ts';
import { createDatabase } from '../../src/db/database.ts';
import { busyIfPoolTimeout, isPoolTimeout } from '../../src/db/errors.ts';
import { boundMysqlPool } from '../../src/db/pool-timing.ts';
import { ResponseWindow } from '../../src/domain/admission-controller.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { installErrorHandling } from '../../src/http/errors.ts';
import { setCaller } from '../../src/http/guard.ts';
import { metricsPlugin } from '../../src/http/metrics.ts';
import { overloadGuard } from '../../src/http/overload-guard.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createOperability } from '../../src/observability/operability.ts';
import { PressureMonitor, type PressureSample } from '../../src/observability/pressure-monitor.ts';
import { processSampler } from '../../src/observability/process-sampler.ts';
import { pressureReadiness } from '../../src/observability/readiness.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { needServer, serverUrls } from '../support/backends.ts';

const calm: PressureSample = { eventLoopDelayMs: 5, heapUsedMb: 100, poolStanding: [] };

async function makeApp() {
  const clock = new ManualClock();
  const metrics = createMetrics();
  const window = new ResponseWindow({ clock });
  let sample = calm;
  const monitor = new PressureMonitor({
    sample: () => sample,
    limits: { maxEventLoopDelayMs: 200, maxHeapMb: 1000, waitingRoomFactor: 2, heapLimitMb: 3000 },
  });
  const pressure = (next: Partial<PressureSample>) => {
    sample = { ...calm, ...next };
    monitor.check();
  };
  // A connection queue of one permit on a clock the test moves; the routes below touch no database.
  let nowMs = 0;
  const classesSeen: AcquireClass[] = [];
  const acquireQueue = new AcquireQueue({
    permits: 1,
    acquireTimeoutMs: 60_000,
    targetMs: 50,
    intervalMs: 500,
    now: () => nowMs,
    onWait: (_seconds, cls) => classesSeen.push(cls),
  });
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandling(app);
  await app.register(overloadGuard({ monitor, metrics, acquireQueue, budgetMs: 2000 }));
  let slowMs = 0;
  // A stand-in for the admission gate: a bad key is refused before the handler, a good one lets it through.
  const gate = async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.headers.authorization === 'bad')
      return reply.code(401).send({ error: { code: 'TOKEN_INVALID' } });
    setCaller(req, 1);
  };
  app.get('/api/reservations/:reservationId', { preHandler: gate }, async () => {
    if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
    return { ok: true };
  });
  app.get('/api/concerts', async () => {
    if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
    (await acquireQueue.acquire())();
    return [];
  });
  app.post('/api/payments', async () => {
    (await acquireQueue.acquire())();
    return { paid: true };
  });
  app.post('/api/users/:userId/token', async () => ({ token: 't' }));
  app.get('/api/sales/:saleId/users/:userId/token', async () => ({ status: 'WAITING' }));
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.post('/api/reservations', async (request, reply) => {
    const { seat } = request.body as { seat: number };
    if (seat === 1) throw new DomainError('SEAT_ALREADY_RESERVED', 'Seat 1 is taken');
    return reply.status(201).send({ reservationId: 'r' });
  });
  app.get('/api/busy', async () => {
    throw busyIfPoolTimeout(new Error('timeout exceeded when trying to connect'));
  });
  // app.ts registers the metrics hooks after every route: they must still see them all.
  await app.register(metricsPlugin({ metrics, window }));
  metrics.observe({
    pressure: () => monitor.state(),
    admitRate: () => 42,
    acquireQueue: () => acquireQueue.stats(),
  });
  await app.ready();
  return {
    app,
    metrics,
    window,
    monitor,
    pressure,
    acquireQueue,
    classesSeen,
    advance: (ms: number) => {
      nowMs += ms;
    },
    slow: (ms: number) => {
      slowMs = ms;
    },
  };
}

describe('GET /metrics', () => {
  test('exposes request histograms by route template and status', async () => {
    const { app, window } = await makeApp();
    const { app: other } = await makeApp();
    for (const id of [1, 2, 3]) await app.inject({ method: 'GET', url: `/api/reservations/${id}` });
    for (const id of [4, 5])
      await app.inject({ method: 'GET', url: `/api/reservations/${id}`, headers: { authorization: 'bad' } });
    await app.inject({ method: 'GET', url: '/nowhere' });
    await app.inject({ method: 'POST', url: '/api/users/1/token' });
    await app.inject({ method: 'GET', url: '/health/live' });

    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const body = res.body;
    assert.match(
      body,
      /http_request_duration_seconds_count\{method="GET",route="\/api\/reservations\/:reservationId",status="200"\} 3/,
    );
    assert.match(body, /http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    assert.doesNotMatch(body, /route="\/api\/reservations\/1"/, 'ids never become labels');
    assert.match(body, /process_resident_memory_bytes \d+/);
    assert.match(body, /nodejs_eventloop_lag_seconds /);
    // Open handles by type come from the resource names; no scrape walks every connection's handle object.
    assert.match(body, /nodejs_active_resources_total \d+/);
    assert.doesNotMatch(body, /nodejs_active_handles/);
    assert.match(body, /ticketrush_admit_rate_per_second 42/);
    assert.match(body, /ticketrush_overload_level\{level="ok"\} 1/);
    assert.equal(
      window.signals().samples,
      3,
      'the admission window saw the booking route only, and only requests the gate let through',
    );

    const otherBody = (await other.inject({ method: 'GET', url: '/metrics' })).body;
    assert.doesNotMatch(
      otherBody,
      /route="\/api\/reservations\/:reservationId"/,
      'each app has its own registry',
    );
    await Promise.all([app.close(), other.close()]);
  });

  test('records a slow request in the upper buckets', async () => {
    const { app, slow } = await makeApp();
    slow(60);
    await app.inject({ method: 'GET', url: '/api/reservations/9' });
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const bucket = (le: string) =>
      Number(
        body.match(
          new RegExp(
            `http_request_duration_seconds_bucket\\{le="${le}",method="GET",route="/api/reservations/:reservationId",status="200"\\} (\\d+)`,
          ),
        )?.[1],
      );
    // At least 60 ms: never in the 50 ms bucket; how far above depends on the machine's load, not on us.
    assert.equal(bucket('0.05'), 0);
    assert.equal(bucket('\\+Inf'), 1);
    await app.close();
  });

  test('the gauges read the registered sources at scrape time', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let waiting = 3;
    metrics.observe({
      pool: () => ({ size: 10, inUse: 7, waiting }),
      queue: async () => ({
        waiting: 500,
        active: 80,
        admittedTotal: 1200,
        evictedTotal: 4,
        expiredTotal: 30,
      }),
      outbox: () => ({ backlog: 12, lagMs: 1500 }),
      etaPriorSessionMs: () => 6623,
    });
    metrics.bookingOutcome('hold', 'ok');
    metrics.bookingOutcome('hold', 'seat_taken');
    metrics.bookingOutcome('hold', 'seat_taken');
    metrics.poolWait(0.02);
    let text = await metrics.render();
    for (const line of [
      'ticketrush_db_pool_size 10',
      'ticketrush_db_pool_in_use 7',
      'ticketrush_db_pool_waiting 3',
      'ticketrush_db_pool_wait_seconds_count 1',
      'ticketrush_queue_waiting 500',
      'ticketrush_queue_active 80',
      'ticketrush_queue_admissions_total 1200',
      'ticketrush_queue_expiries_total 30',
      'ticketrush_outbox_backlog 12',
      'ticketrush_outbox_lag_seconds 1.5',
      'ticketrush_eta_prior_session_seconds 6.623',
      'ticketrush_booking_outcomes_total{step="hold",outcome="seat_taken"} 2',
    ])
      assert.ok(text.includes(`${line}\n`), `missing ${line}`);
    waiting = 9;
    await new Promise((r) => setTimeout(r, 300));
    text = await metrics.render();
    assert.ok(text.includes('ticketrush_db_pool_waiting 9\n'));
  });

  test('mirrors the transaction retry counts: retried and exhausted', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const stats = { retries: 3, exhausted: 1 };
    metrics.observe({ transactionRetries: () => stats });
    let text = await metrics.render();
    assert.ok(text.includes('ticketrush_db_transaction_retries_total 3\n'), text);
    assert.ok(text.includes('ticketrush_db_transaction_retries_exhausted_total 1\n'));
    stats.retries = 5;
    text = await metrics.render();
    assert.ok(text.includes('ticketrush_db_transaction_retries_total 5\n'), 'read again at each scrape');
  });

  test('a source that fails leaves the scrape working', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observe({
      queue: async () => {
        throw new Error('redis down');
      },
      admitRate: () => 7,
    });
    const text = await metrics.render();
    assert.match(text, /ticketrush_admit_rate_per_second 7/);
  });

  test('counts holds by outcome from the route and the domain error code', async () => {
    const { app } = await makeApp();
    const hold = (seat: number) =>
      app.inject({ method: 'POST', url: '/api/reservations', payload: { seat } });
    assert.equal((await hold(2)).statusCode, 201);
    assert.equal((await hold(1)).statusCode, 409);
    assert.equal((await hold(1)).statusCode, 409);
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(body, /ticketrush_booking_outcomes_total\{step="hold",outcome="ok"\} 1\n/);
    assert.match(
      body,
      /ticketrush_booking_outcomes_total\{step="hold",outcome="seat_already_reserved"\} 2\n/,
    );
    await app.close();
  });
});

/** Lets the event loop turn until `ready()` holds (a request reached the point the test waits for). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setImmediate(r));
}

describe('overload guard', () => {
  test('answers 503 OVERLOADED with Retry-After at once while the process is saturated', async () => {
    const { app, pressure, slow } = await makeApp();
    slow(5000);
    pressure({ eventLoopDelayMs: 300 });
    const started = performance.now();
    const res = await app.inject({ method: 'GET', url: '/api/concerts' });
    assert.ok(performance.now() - started < 1000, 'the handler never ran');
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.deepEqual(res.json(), {
      error: { code: 'OVERLOADED', message: 'Server overloaded, retry shortly' },
    });

    slow(0);
    pressure({});
    assert.equal((await app.inject({ method: 'GET', url: '/api/concerts' })).statusCode, 200);

    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(body, /ticketrush_overload_shed_total\{class="catalog",reason="process"\} 1/);
    assert.match(body, /http_requests_total\{method="GET",route="\/api\/concerts",status="503"\} 1/);
    await app.close();
  });

  test('catalog reads shed first, holds and payments only when the process is critical, the waiting room last', async () => {
    const { app, pressure, monitor } = await makeApp();
    const status = async (method: 'GET' | 'POST', url: string) =>
      (await app.inject({ method, url })).statusCode;
    const answers = async () => ({
      catalog: await status('GET', '/api/concerts'),
      hold: await status('GET', '/api/reservations/1'),
      payment: await status('POST', '/api/payments'),
      token: await status('POST', '/api/users/7/token'),
    });

    pressure({ eventLoopDelayMs: 300 });
    assert.equal(monitor.state().processLevel, 'shed');
    assert.deepEqual(await answers(), { catalog: 503, hold: 200, payment: 200, token: 200 });

    pressure({ heapUsedMb: 2500 });
    assert.equal(monitor.state().processLevel, 'critical');
    assert.deepEqual(await answers(), { catalog: 503, hold: 503, payment: 503, token: 503 });
    const res = await app.inject({ method: 'POST', url: '/api/users/7/token' });
    assert.equal(res.json().error.code, 'OVERLOADED');
    assert.ok(res.headers['retry-after']);

    pressure({ poolStanding: [{ cls: 'catalog', sojournMs: 900 }] });
    assert.equal(monitor.state().level, 'shed');
    assert.equal(monitor.state().processLevel, 'ok');
    assert.deepEqual(monitor.state().reasons, [
      'catalog waits for a connection above 50ms for 500ms (oldest 900ms)',
    ]);
    assert.equal(
      await status('POST', '/api/users/7/token'),
      200,
      'the waiting room needs no connection: a standing connection queue never sheds it',
    );
    assert.equal(
      await status('GET', '/api/sales/2/users/7/token'),
      200,
      "nor a sale's line: its fans poll the waiting room too",
    );
    await app.close();
  });

  test('a standing connection queue sheds its own class, never payments, and not after it drained', async () => {
    const { app, acquireQueue, advance, classesSeen } = await makeApp();
    const held = await acquireQueue.acquire();
    const queued = acquireQueue.runAs('catalog', () => acquireQueue.acquire());
    advance(100);
    assert.equal(acquireQueue.standing('catalog'), false, 'a short wait is good queueing');
    advance(500);
    const shed = await app.inject({ method: 'GET', url: '/api/concerts' });
    assert.equal(shed.statusCode, 503, 'catalog waits stood above 50 ms for 500 ms');
    assert.equal(shed.json().error.code, 'OVERLOADED');
    assert.equal(shed.headers['retry-after'], '1');
    const payment = app.inject({ method: 'POST', url: '/api/payments' });
    await until(() => acquireQueue.waiting === 2);
    held();
    assert.equal((await payment).statusCode, 200, 'the payment overtook the queued catalog reads');
    (await queued)();
    await new Promise((r) => setImmediate(r));
    const after = await app.inject({ method: 'GET', url: '/api/concerts' });
    assert.equal(after.statusCode, 200, 'the queue drained: the next read passes at once');
    assert.equal(classesSeen[classesSeen.indexOf('payment') - 1], 'catalog', 'the held permit');
    assert.ok(classesSeen.includes('payment'), "the route's checkouts queue as its class");
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(body, /ticketrush_overload_shed_total\{class="catalog",reason="standing"\} 1/);
    await app.close();
  });

  test('a request whose expected wait exceeds its class budget is refused at once; a payment waits', async () => {
    const { app, acquireQueue, advance } = await makeApp();
    const first = await acquireQueue.acquire();
    advance(100);
    first();
    const held = await acquireQueue.acquire();
    const queued = Array.from({ length: 12 }, () =>
      acquireQueue.runAs('catalog', () => acquireQueue.acquire()),
    );
    assert.equal(acquireQueue.expectedWaitMs('catalog'), 1300);
    const res = await app.inject({ method: 'GET', url: '/api/concerts' });
    assert.equal(res.statusCode, 503, 'a catalog read may expect half the 2 s budget');
    assert.equal(acquireQueue.expectedWaitMs('payment'), 100);
    const payment = app.inject({ method: 'POST', url: '/api/payments' });
    await until(() => acquireQueue.waiting === 13);
    held();
    assert.equal((await payment).statusCode, 200);
    await Promise.all(queued.map((p) => p.then((release) => release())));
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(body, /ticketrush_overload_shed_total\{class="catalog",reason="budget"\} 1/);
    assert.match(body, /ticketrush_db_pool_standing\{class="catalog"\} 0/);
    await app.close();
  });

  test('health and metrics never shed', async () => {
    const { app, pressure, monitor } = await makeApp();
    pressure({
      eventLoopDelayMs: 10_000,
      heapUsedMb: 10_000,
      poolStanding: [{ cls: 'payment', sojournMs: 10_000 }],
    });
    assert.equal(monitor.state().level, 'critical');
    assert.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    await assert.rejects(pressureReadiness(monitor).check(), /overloaded: event-loop delay/);
    await app.close();
  });

  test('a bound of 0 is switched off', () => {
    const monitor = new PressureMonitor({
      sample: () => ({ eventLoopDelayMs: 10_000, heapUsedMb: 10_000, poolStanding: [] }),
      limits: { maxEventLoopDelayMs: 0, maxHeapMb: 0 },
    });
    assert.equal(monitor.check().level, 'ok');
  });

  test('over its heap bound, the level falls only once the heap is 5 % below the bound, not when a GC frees a megabyte', () => {
    let heapUsedMb = 990;
    const monitor = new PressureMonitor({
      sample: () => ({ ...calm, heapUsedMb }),
      limits: { maxEventLoopDelayMs: 0, maxHeapMb: 1000, heapLimitMb: 3000 },
    });
    const levelAt = (mb: number) => {
      heapUsedMb = mb;
      return monitor.check().processLevel;
    };
    assert.equal(levelAt(990), 'ok', 'below the bound');
    assert.equal(levelAt(1001), 'shed');
    assert.equal(levelAt(999), 'shed', 'a megabyte freed at the bound keeps it shedding');
    assert.deepEqual(monitor.state().reasons, ['heap used 999MB > 950MB']);
    assert.equal(levelAt(951), 'shed');
    assert.equal(levelAt(949), 'ok', 'below 95 % of the bound it falls');
    assert.equal(levelAt(999), 'ok', 'and the full bound applies again');
    assert.equal(levelAt(1001), 'shed');
  });

  test('with confirmSamples 2, one stalled sample does not raise the process level; two do; it falls at once', () => {
    let sample: PressureSample = calm;
    const changes: string[] = [];
    const monitor = new PressureMonitor({
      sample: () => sample,
      limits: { maxEventLoopDelayMs: 200, maxHeapMb: 1000 },
      confirmSamples: 2,
      onLevelChange: (state, previous) =>
        changes.push(`${previous} -> ${state.level}: ${state.reasons.join(', ')}`),
    });
    sample = { ...calm, eventLoopDelayMs: 900 };
    assert.equal(monitor.check().processLevel, 'ok');
    sample = calm;
    assert.equal(monitor.check().processLevel, 'ok');
    sample = { ...calm, eventLoopDelayMs: 300 };
    monitor.check();
    assert.equal(monitor.check().processLevel, 'shed');
    sample = { ...calm, poolStanding: [{ cls: 'hold', sojournMs: 700 }] };
    assert.equal(
      monitor.check().level,
      'shed',
      'a standing queue acts at once: CoDel already waited an interval',
    );
    sample = calm;
    assert.equal(monitor.check().level, 'ok');
    assert.deepEqual(changes, ['ok -> shed: event-loop delay 300ms > 200ms', 'shed -> ok: ']);
  });

  test('the process sampler reads real numbers and the standing classes', async () => {
    const queue = new AcquireQueue({ permits: 1, acquireTimeoutMs: 60_000, targetMs: 0, intervalMs: 0 });
    const held = await queue.acquire();
    const waiting = queue.runAs('top-up', () => queue.acquire());
    await new Promise((r) => setTimeout(r, 5));
    const sampler = processSampler(() => queue.stats());
    const s = sampler.sample();
    sampler.stop();
    assert.ok(s.heapUsedMb > 1);
    assert.ok(s.eventLoopDelayMs >= 0);
    assert.deepEqual(
      s.poolStanding.map((p) => p.cls),
      ['top-up'],
    );
    held();
    (await waiting)();
  });
});

describe('pool timeouts', () => {
  test('a pg pool timeout becomes 503 BUSY with Retry-After', async () => {
    const { app } = await makeApp();
    const res = await app.inject({ method: 'GET', url: '/api/busy' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json().error.code, 'BUSY');
    await app.close();
  });

  test('other errors pass through unchanged', () => {
    const err = new Error('syntax error at or near');
    assert.equal(busyIfPoolTimeout(err), err);
    assert.equal(isPoolTimeout('timeout exceeded when trying to connect'), false);
    assert.ok(busyIfPoolTimeout(new Error('Queue limit reached.')) instanceof DomainError);
  });

  test('a mysql2-style pool gets an acquire timeout, and a late connection goes back', async () => {
    const released: string[] = [];
    let pending: ((err: Error | null, c?: { release(): void }) => void) | undefined;
    const pool = {
      getConnection(cb: (err: Error | null, c?: { release(): void }) => void) {
        pending = cb;
      },
    };
    boundMysqlPool(pool, { acquireTimeoutMs: 30 });
    const err = await new Promise<Error | null>((resolve) => pool.getConnection((e) => resolve(e)));
    assert.ok(isPoolTimeout(err));
    pending?.(null, { release: () => released.push('late') });
    assert.deepEqual(released, ['late']);

    const got = await new Promise<unknown>((resolve) => {
      pool.getConnection((e, c) => resolve(e ?? c));
      pending?.(null, { release: () => released.push('again') });
    });
    assert.ok(got && typeof got === 'object' && 'release' in got);
    assert.deepEqual(released, ['late']);
  });
});

describe('createOperability', () => {
  test('wires pool, queue, window and rate into /metrics and cuts the shared window on pool wait time', async () => {
    const clock = new ManualClock();
    const settings = {
      admitPerSecond: 200,
      maxActive: 2000,
      activeTtlSeconds: 900,
      activeIdleSeconds: 15,
      tokenGraceSeconds: 30,
      idleTimeoutSeconds: 30,
    };
    const store = new MemoryQueueStore({ activeTtlMs: 900_000, tokenGraceMs: 30_000, activeIdleMs: 15_000 });
    const waitingRoom = new WaitingRoom({ store, clock, settings });
    const database = {
      poolStats: () => ({ size: 10, inUse: 10, waiting: 25 }),
      acquireQueue: new AcquireQueue({ permits: 10, acquireTimeoutMs: 2000, targetMs: 50, intervalMs: 500 }),
    } as unknown as Database;
    const lines: string[] = [];
    const log = {
      info: (_: object, msg: string) => lines.push(msg),
      warn: (_: object, msg: string) => lines.push(msg),
    };
    const ops = createOperability({ config: loadConfig({}), clock, database, waitingRoom, log });
    const app = Fastify();
    installErrorHandling(app);
    await app.register(overloadGuard({ monitor: ops.monitor, metrics: ops.metrics }));
    app.get('/api/concerts', async () => []);
    await app.register(metricsPlugin({ metrics: ops.metrics, window: ops.window }));
    await app.ready();

    await ops.admission?.step();
    for (let u = 1; u <= 120; u++) await waitingRoom.issueToken(u);
    await waitingRoom.tick();
    clock.advance(500);
    await waitingRoom.tick();
    assert.deepEqual(waitingRoom.occupancy(), { active: 100, waiting: 20, window: 2000, rate: 200 });
    // A long pool queue alone is no verdict; requests waiting 80 ms for a connection, twice in a row, are.
    for (const _ of [1, 2]) {
      clock.advance(2000);
      for (let i = 0; i < 30; i++) ops.poolWait(0.08);
      await ops.admission?.step();
    }
    await waitingRoom.tick();
    assert.equal(waitingRoom.getWindow(), 70, '70 % of the 100 users active');
    assert.equal(waitingRoom.getAdmitRate(), 100);
    assert.deepEqual(lines, [
      'admission window: no shared window yet: none -> 2000',
      'admission rate: no shared rate yet: none -> 200/s',
      'admission window: pool wait p95 80ms > target 25ms, 100 active: 2000 -> 70',
      'admission rate: pool wait p95 80ms > target 25ms: 200/s -> 100/s',
    ]);
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const line of [
      'ticketrush_db_pool_waiting 25',
      'ticketrush_queue_waiting 20',
      'ticketrush_admit_rate_per_second 100',
      'ticketrush_admit_window 70',
      'ticketrush_admit_rate_changes_total{direction="down",signal="pool"} 1',
      'ticketrush_admit_window_changes_total{direction="down",signal="pool"} 1',
    ])
      assert.ok(body.includes(`${line}\n`), `missing ${line}`);
    ops.stop();
    await app.close();
  });
});

describe('pool timeouts on real pools', () => {
  for (const [server, url] of [
    ['postgres', serverUrls.postgres],
    ['mysql', serverUrls.mysql],
  ] as const)
    test(`${server}: the acquire queue times checkouts by class, and a checkout it cannot serve in time is BUSY`, async (t) => {
      if (!(await needServer(t, server))) return;
      const waits: Array<[AcquireClass, number]> = [];
      const database = createDatabase(url, {
        max: 1,
        acquireTimeoutMs: 300,
        onWait: (seconds, cls) => waits.push([cls, seconds]),
      });
      try {
        // The pool's one connection is opened first, so no checkout below waits for a handshake.
        await database.ping();
        await database.acquireQueue.runAs('hold', () =>
          database.db.transaction().execute(async (trx) => {
            const err = await database.acquireQueue
              .runAs('payment', () => sql`select 1`.execute(database.db))
              .then(
                () => undefined,
                (e: unknown) => e,
              );
            assert.ok(isPoolTimeout(err), `got ${err}`);
            assert.equal((busyIfPoolTimeout(err) as DomainError).code, 'BUSY');
            await sql`select 1`.execute(trx);
          }),
        );
        await database.ping();
        assert.deepEqual(
          waits.map(([cls]) => cls),
          ['catalog', 'hold', 'payment', 'catalog'],
        );
        assert.ok(waits[2][1] >= 0.25, `the timed-out checkout waited ${waits[2][1]} s`);
        assert.deepEqual(database.poolStats().waiting, 0);
      } finally {
        await database.close();
      }
    });

  for (const [server, url] of [
    ['postgres', serverUrls.postgres],
    ['mysql', serverUrls.mysql],
  ] as const)
    test(`${server}: openKept opens the connections the pool keeps before any checkout needs them`, async (t) => {
      if (!(await needServer(t, server))) return;
      for (const [min, opened] of [
        ['max', 4],
        [2, 2],
        [undefined, 0],
      ] as const) {
        const database = createDatabase(url, { max: 4, min, acquireTimeoutMs: 2000 });
        try {
          await database.openKept();
          assert.deepEqual(database.poolStats(), { size: opened, inUse: 0, waiting: 0 }, `min ${min}`);
          await database.ping();
          assert.equal(database.poolStats().size, Math.max(1, opened));
        } finally {
          await database.close();
        }
      }
    });

  test('MySQL: a second checkout from a pool of one times out instead of hanging', async (t) => {
    if (!(await needServer(t, 'mysql'))) return;
    const u = new URL(serverUrls.mysql);
    const pool = createMysqlPool({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      connectionLimit: 1,
    });
    // Long enough that handing a released connection on never times out on a loaded machine.
    boundMysqlPool(pool, { acquireTimeoutMs: 400 });
    const checkout = () =>
      new Promise<{ err: Error | null; conn?: { release(): void } }>((resolve) =>
        pool.getConnection((err, conn) => resolve({ err, conn })),
      );
    try {
      const first = await checkout();
      assert.equal(first.err, null);
      const second = await checkout();
      assert.ok(isPoolTimeout(second.err), `got ${second.err}`);
      first.conn?.release();
      const third = await checkout();
      assert.equal(third.err, null, 'the pool is usable again');
      third.conn?.release();
    } finally {
      await new Promise<void>((resolve) => pool.end(() => resolve()));
    }
  });
});
