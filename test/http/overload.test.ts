import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

// Checked before the suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await serverAvailable('postgres');

const ACQUIRE_TIMEOUT_MS = 3000;
/** Every answer from PostgreSQL arrives this much later: a catalog read holds a connection at least this long. */
const SLOW_MS = 40;
const POOL = 2;
const OVERLOAD_MS = 3000;

interface Answer {
  status: number;
  code?: string;
  retryAfter?: string;
  ms: number;
}

describe('a sustained 3x overload on a slowed PostgreSQL (pool 2)', {
  skip: !reachable && 'postgres not reachable',
}, () => {
  let t: TestApp;
  const proxy = new TcpProxy({ host: new URL(serverUrls.postgres).hostname, port: 5432 });
  before(async () => {
    const port = await proxy.listen();
    t = await makeTestApp(
      'postgres',
      { TR_DB_POOL_MAX: String(POOL), TR_DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS) },
      (url) => {
        const u = new URL(url);
        u.host = `127.0.0.1:${port}`;
        return u.toString();
      },
    );
    t.composition.start();
  });
  after(async () => {
    await t?.close();
    await proxy.close();
  });

  test('gets fast 503 OVERLOADED + Retry-After while a seat holder still pays, and is ok again once it ends', async () => {
    const reader = await t.admit(1);
    const payer = await t.admit(2);
    await t.app.inject({
      method: 'POST',
      url: '/api/users/2/points/charge',
      headers: payer,
      payload: { amount: 500_000 },
    });
    proxy.delayMs = SLOW_MS;
    // What the slowed database serves: one read at a time takes `each` ms, and POOL of them run at once. The
    // read is one schedule with its free-seat count: one database read per request (seat-map reads asked for
    // while one of the same schedule is under way share it, so a flood of those is no overload).
    const calibrationStarted = performance.now();
    for (let i = 0; i < 5; i++)
      await t.app.inject({
        method: 'GET',
        url: '/api/schedules/1',
        headers: reader,
      });
    const each = (performance.now() - calibrationStarted) / 5;
    const capacityPerSecond = (POOL * 1000) / each;
    const offeredPerSecond = 3 * capacityPerSecond;

    const answers: Answer[] = [];
    const read = async () => {
      const started = performance.now();
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/schedules/1',
        headers: reader,
      });
      answers.push({
        status: res.statusCode,
        code: res.statusCode >= 400 ? res.json().error?.code : undefined,
        retryAfter: res.headers['retry-after'] as string | undefined,
        ms: performance.now() - started,
      });
    };
    const inFlight: Promise<void>[] = [];
    const started = performance.now();
    let paid: { hold: number; payment: number } | undefined;
    for (let sent = 0; performance.now() - started < OVERLOAD_MS; sent++) {
      const due = started + (sent * 1000) / offeredPerSecond;
      if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      inFlight.push(read());
      if (!paid && performance.now() - started > OVERLOAD_MS / 2) {
        // Halfway through, with catalog reads standing in line, a user holds a seat and pays for it.
        paid = { hold: 0, payment: 0 };
        const hold = await t.app.inject({
          method: 'POST',
          url: '/api/reservations',
          headers: payer,
          payload: { userId: 2, concertScheduleId: 2, seatId: 1 },
        });
        paid.hold = hold.statusCode;
        const payment = await t.app.inject({
          method: 'POST',
          url: '/api/payments',
          headers: payer,
          payload: { userId: 2, reservationId: hold.json().reservationId },
        });
        paid.payment = payment.statusCode;
      }
    }
    await Promise.all(inFlight);
    const elapsed = performance.now() - started;

    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.code === 'OVERLOADED');
    const busy = answers.filter((a) => a.code === 'BUSY');
    const slowestRefusal = Math.max(...refused.map((a) => a.ms));
    console.log(
      `# overload: ${answers.length} catalog reads in ${Math.round(elapsed)} ms, ${Math.round(offeredPerSecond)}/s offered to a capacity of ${Math.round(capacityPerSecond)}/s: ` +
        `${ok.length} served, ${refused.length} refused OVERLOADED (slowest ${Math.round(slowestRefusal)} ms), ` +
        `${busy.length} BUSY after waiting; hold ${paid?.hold}, payment ${paid?.payment}`,
    );

    assert.deepEqual(paid, { hold: 200, payment: 200 }, 'a user who holds a seat can pay for it');
    assert.ok(ok.length > 0, 'the database keeps serving at its pace');
    assert.ok(refused.length > 0, 'the overload is refused, not queued');
    assert.ok(
      slowestRefusal < ACQUIRE_TIMEOUT_MS,
      `refusals answer without waiting for a connection (slowest ${Math.round(slowestRefusal)} ms)`,
    );
    for (const a of answers.filter((x) => x.status >= 500)) {
      assert.equal(a.status, 503, 'never a 500');
      assert.equal(a.retryAfter, '1', 'every 503 says when to retry');
    }

    proxy.delayMs = 0;
    const sampled = t.composition.services.pressure.check();
    assert.deepEqual(sampled.poolStanding, [], 'the overload ended: no queue stands');
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/schedules/1',
      headers: reader,
    });
    assert.equal(res.statusCode, 200, 'catalog reads pass again at once');
    const metrics = await t.composition.services.metrics.render();
    assert.match(metrics, /ticketrush_overload_shed_total\{class="catalog",reason="(standing|budget)"\} \d+/);
  });
});
