import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { portOpen, serverAvailable, serverUrls } from '../support/backends.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';
import { alive, type ServerProcess, spawnServer } from './server-process.ts';

// Several `ticketrush serve` processes sharing one Redis and one PostgreSQL: the waiting room's rate
// budget, active cap and order live in Redis, seat races and wallets are decided by PostgreSQL.

const backendsUp = (await serverAvailable('postgres')) && (await serverAvailable('redis'));
const skip = backendsUp ? false : 'needs PostgreSQL and Redis';

/** Settings every process of one run shares: the same database, Redis waiting room and small demo. */
function sharedEnv(db: string, queueName: string, extra: Record<string, string>): Record<string, string> {
  return {
    TR_DB: db,
    TR_QUEUE: serverUrls.redis,
    TR_QUEUE_NAME: queueName,
    LOG_LEVEL: 'warn',
    TR_DEMO_USERS: '500',
    TR_DEMO_SCHEDULES: '10',
    TR_DEMO_SCHEDULES_PER_CONCERT: '5',
    TR_DEMO_SEATS: '10',
    TR_DEMO_POINTS: '0',
    TR_SEED_ON_START: 'true',
    TR_ADMIT_ADAPTIVE: 'false',
    // Correctness, not overload, is under test: a start-up stall on a busy machine must not shed requests.
    TR_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...extra,
  };
}

/** A fresh database and waiting room; `env` points servers at them. */
interface Backing {
  testDb: TestDatabase;
  env: Record<string, string>;
  /** Drops the database and deletes the waiting room's Redis keys. */
  drop(): Promise<void>;
}

async function freshBacking(settings: Record<string, string>): Promise<Backing> {
  const testDb = await createTestDatabase('postgres');
  await testDb.database.close();
  const queueName = `mp-${randomBytes(6).toString('hex')}`;
  return {
    testDb,
    env: sharedEnv(testDb.url, queueName, settings),
    drop: async () => {
      const store = new RedisQueueStore({
        redis: serverUrls.redis,
        settings: { activeTtlMs: 1, tokenGraceMs: 1, activeIdleMs: 1 },
        hashTag: queueName,
      });
      await store.destroy().finally(() => store.close());
      await testDb.drop();
    },
  };
}

interface Deployment {
  servers: ServerProcess[];
  testDb: TestDatabase;
  close(): Promise<void>;
}

/** `count` single-process servers on a fresh backing (the first one seeds, the others start after it). */
async function deploy(count: number, settings: Record<string, string>): Promise<Deployment> {
  const backing = await freshBacking(settings);
  const servers: ServerProcess[] = [];
  const close = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await backing.drop();
  };
  try {
    for (let i = 0; i < count; i++) {
      const name = String.fromCharCode(65 + i);
      const env = i === 0 ? backing.env : { ...backing.env, TR_SEED_ON_START: 'false' };
      servers.push(await spawnServer(name, env));
    }
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { servers, testDb: backing.testDb, close };
}

// ---------------------------------------------------------------- HTTP client

interface Reply<T> {
  status: number;
  body: T;
}

interface Ticket {
  accessKey?: string;
  order: number;
  status: 'WAITING' | 'ACTIVE';
  position: number;
}

interface ErrorBody {
  error: { code: string; message: string };
}

async function call<T>(
  server: ServerProcess,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  opts: { key?: string; body?: unknown } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = opts.key;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function issue(server: ServerProcess, userId: number): Promise<string> {
  const res = await call<Ticket>(server, 'POST', `/api/users/${userId}/token`);
  assert.equal(res.status, 200, `token for user ${userId} on ${server.name}: ${JSON.stringify(res.body)}`);
  assert.ok(res.body.accessKey);
  return res.body.accessKey;
}

async function poll(server: ServerProcess, userId: number, key: string): Promise<Ticket> {
  const res = await call<Ticket>(server, 'GET', `/api/users/${userId}/token`, { key });
  assert.equal(res.status, 200, `poll of user ${userId} on ${server.name}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Issues keys alternately on each server, then polls (alternating too) until every user is admitted. */
async function admitAll(servers: ServerProcess[], userIds: number[], timeoutMs = 15_000) {
  const keys = new Map<number, string>();
  await Promise.all(userIds.map(async (u, i) => keys.set(u, await issue(servers[i % servers.length], u))));
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    const tickets = await Promise.all(
      userIds.map((u, i) => poll(servers[(i + round) % servers.length], u, keys.get(u)!)),
    );
    if (tickets.every((t) => t.order === 0)) return keys;
    assert.ok(Date.now() < deadline, `not all of ${userIds.length} users admitted in ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The sum of a Prometheus series' samples whose line contains every given label fragment. */
async function metric(server: ServerProcess, name: string, labels: string[] = []): Promise<number> {
  const res = await fetch(`${server.url}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    if (labels.every((l) => line.includes(l))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// ---------------------------------------------------------------- tests

describe('two server processes share one waiting room (Redis)', { skip }, () => {
  const RATE = 10;
  const MAX_ACTIVE = 30;
  const USERS = 100;
  /** Credit a tick may find on arrival: up to two missed 250 ms ticks' worth, plus rounding. */
  const BURST = RATE * 0.5 + 1;
  let d: Deployment;
  before(async () => {
    d = await deploy(2, {
      TR_ADMIT_PER_SECOND: String(RATE),
      TR_MAX_ACTIVE: String(MAX_ACTIVE),
      TR_ACTIVE_TTL_SECONDS: '300',
    });
  });
  after(async () => d?.close());

  test('admission keeps one order, one rate budget and one active cap across processes', async () => {
    const [a, b] = d.servers;
    const servers = [a, b];
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;

    // Users arrive one after another, alternating between the processes: arrival order is 1..100.
    const keys = new Map<number, string>();
    for (const u of range(1, USERS)) keys.set(u, await issue(servers[u % 2], u));

    const admittedAt = new Map<number, number>();
    const observations: Array<{ at: number; admitted: number; activeGauge: number }> = [];
    for (let round = 0; admittedAt.size < MAX_ACTIVE && elapsed() < 20; round++) {
      const waiting = range(1, USERS).filter((u) => !admittedAt.has(u));
      const tickets = await Promise.all(waiting.map((u) => poll(servers[(u + round) % 2], u, keys.get(u)!)));
      const at = elapsed();
      tickets.forEach((t, i) => {
        if (t.order === 0) admittedAt.set(waiting[i], at);
      });
      const activeGauge = await metric(servers[round % 2], 'ticketrush_queue_active');
      observations.push({ at, admitted: admittedAt.size, activeGauge });
      await sleep(100);
    }
    const filledAt = Math.max(...admittedAt.values());
    const trace = JSON.stringify(observations.map((o) => [o.at.toFixed(2), o.admitted, o.activeGauge]));

    assert.equal(admittedAt.size, MAX_ACTIVE, `the room filled up: ${trace}`);
    for (const o of observations) {
      assert.ok(o.admitted <= MAX_ACTIVE && o.activeGauge <= MAX_ACTIVE, `never over the cap: ${trace}`);
      // One budget in Redis: two tickers together admit at RATE, not 2 x RATE.
      assert.ok(o.admitted <= RATE * o.at + BURST, `admitted within the shared rate: ${trace}`);
    }
    assert.ok(filledAt >= (MAX_ACTIVE - BURST) / RATE, `filled no faster than the rate: ${trace}`);
    assert.ok(filledAt <= MAX_ACTIVE / RATE + 4, `filled at about the rate: ${trace}`);

    // Give the tickers time to (wrongly) admit more, then read the room on both processes.
    await sleep(800);
    for (const server of servers) {
      for (const u of range(1, USERS)) {
        const t = await poll(server, u, keys.get(u)!);
        if (u <= MAX_ACTIVE) assert.equal(t.status, 'ACTIVE', `user ${u} on ${server.name}`);
        // The waiting positions are exactly 1..70, in arrival order, whichever process is asked.
        else
          assert.deepEqual(
            [t.status, t.position],
            ['WAITING', u - MAX_ACTIVE],
            `user ${u} on ${server.name}`,
          );
      }
      assert.equal(await metric(server, 'ticketrush_queue_active'), MAX_ACTIVE);
      assert.equal(await metric(server, 'ticketrush_queue_waiting'), USERS - MAX_ACTIVE);
      // Nobody was admitted twice: the shared total is the number of distinct admitted users.
      assert.equal(await metric(server, 'ticketrush_queue_admissions_total'), MAX_ACTIVE);
      const served = await metric(server, 'http_requests_total', ['route="/api/users/:userId/token"']);
      assert.ok(served >= USERS, `${server.name} served its share of token requests (${served})`);
    }
  });
});

describe('two server processes share admitted users’ activity (Redis)', { skip }, () => {
  let d: Deployment;
  before(async () => {
    d = await deploy(2, {
      TR_ADMIT_PER_SECOND: '1000',
      TR_MAX_ACTIVE: '3',
      TR_ACTIVE_IDLE_SECONDS: '2',
    });
  });
  after(async () => d?.close());

  test('requests on either process keep a user active; silence lapses; leaving frees the slot for both', async () => {
    const [a, b] = d.servers;
    const keys = await admitAll([a, b], [1, 2, 3]);
    const four = await issue(b, 4);
    assert.equal((await poll(a, 4, four)).position, 1, 'the window of 3 is full');

    // User 3 leaves through B: A admits user 4 into the freed slot.
    assert.equal((await call(b, 'DELETE', '/api/users/3/token', { key: keys.get(3) })).status, 204);
    let admitted = false;
    for (let i = 0; i < 30 && !admitted; i++) {
      admitted = (await poll(a, 4, four)).order === 0;
      if (!admitted) await sleep(100);
    }
    assert.ok(admitted, 'user 4 took the freed slot');
    const gone = await call<ErrorBody>(a, 'GET', '/api/concerts', { key: keys.get(3) });
    assert.deepEqual([gone.status, gone.body.error.code], [401, 'TOKEN_EXPIRED']);

    // User 1 works for 7 s (more than twice the idle time), alternating processes; user 2 stays silent.
    const started = Date.now();
    for (let i = 0; Date.now() - started < 7000; i++) {
      const res = await call(i % 2 === 0 ? a : b, 'GET', '/api/concerts', { key: keys.get(1) });
      assert.equal(res.status, 200, `request ${i} after ${Date.now() - started} ms`);
      await sleep(700);
    }
    const silent = await call<ErrorBody>(b, 'GET', '/api/concerts', { key: keys.get(2) });
    assert.deepEqual([silent.status, silent.body.error.code], [401, 'TOKEN_EXPIRED'], 'idle for 7 s');

    // Re-issuing on the other process keeps user 1 admitted, with a key that works on both.
    const fresh = await issue(b, 1);
    assert.equal((await poll(a, 1, fresh)).order, 0);
    assert.equal((await call(a, 'GET', '/api/concerts', { key: fresh })).status, 200);
    assert.equal(await metric(a, 'ticketrush_queue_active'), 1, 'user 1 only: user 4 was silent too');
  });
});

describe('two server processes share one database (PostgreSQL)', { skip }, () => {
  let d: Deployment;
  before(async () => {
    // Admission is not under test here: admit at once.
    d = await deploy(2, { TR_ADMIT_PER_SECOND: '1000000', TR_MAX_ACTIVE: '1000' });
  });
  after(async () => d?.close());

  test('40 users racing for one seat across both processes: one hold, 39 SEAT_ALREADY_RESERVED', async () => {
    const servers = d.servers;
    const racers = range(1, 40);
    const keys = await admitAll(servers, racers);
    const scheduleId = 2; // concert 1
    const winners = new Map<number, { reservationId: string; userId: number }>();
    for (const seatId of [1, 2, 3]) {
      const replies = await Promise.all(
        racers.map((u, i) =>
          call<{ reservationId: string } & Partial<ErrorBody>>(
            servers[(i + seatId) % 2],
            'POST',
            '/api/reservations',
            {
              key: keys.get(u),
              body: { userId: u, concertScheduleId: scheduleId, seatId },
            },
          ).then((r) => ({ ...r, userId: u })),
        ),
      );
      const summary = JSON.stringify(replies.map((r) => [r.status, r.body.error?.code]));
      assert.equal(replies.filter((r) => r.status >= 500).length, 0, `no 5xx: ${summary}`);
      const won = replies.filter((r) => r.status === 200);
      assert.equal(won.length, 1, `exactly one hold of seat ${seatId}: ${summary}`);
      for (const r of replies.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 409, summary);
        assert.equal(r.body.error?.code, 'SEAT_ALREADY_RESERVED', summary);
      }
      winners.set(seatId, { reservationId: won[0].body.reservationId, userId: won[0].userId });
    }

    // Both processes see the same holds and the same free seats.
    for (const server of servers) {
      const seats = await call<{ seats: Array<{ seatId: number }> }>(
        server,
        'GET',
        `/api/concerts/1/schedules/${scheduleId}/seats/available`,
        { key: keys.get(1) },
      );
      assert.equal(seats.status, 200);
      assert.deepEqual(
        seats.body.seats.map((s) => s.seatId),
        range(4, 10),
      );
      for (const [seatId, w] of winners) {
        const got = await call<{ userId: number; seatId: number; status: string }>(
          server,
          'GET',
          `/api/reservations/${w.reservationId}`,
          { key: keys.get(w.userId) },
        );
        assert.equal(got.status, 200);
        assert.deepEqual([got.body.userId, got.body.seatId, got.body.status], [w.userId, seatId, 'HELD']);
      }
    }
  });

  test('charges spread over both processes add up; a reservation paid on both at once is paid once', async () => {
    const [a, b] = d.servers;
    const servers = [a, b];
    const userId = 100;
    let key = (await admitAll(servers, [userId])).get(userId)!;

    const hold = await call<{ reservationId: string; price: number }>(a, 'POST', '/api/reservations', {
      key,
      body: { userId, concertScheduleId: 3, seatId: 5 },
    });
    assert.equal(hold.status, 200, JSON.stringify(hold.body));
    const { reservationId, price } = hold.body;

    // 20 concurrent charges, alternating processes: each sees its own increment on top of the others'.
    const CHARGE = 100_000;
    const CHARGES = 20;
    const charged = await Promise.all(
      range(1, CHARGES).map((i) =>
        call<{ balance: number }>(servers[i % 2], 'POST', `/api/users/${userId}/points/charge`, {
          key,
          body: { amount: CHARGE },
        }),
      ),
    );
    assert.deepEqual(
      charged.map((r) => r.status),
      Array(CHARGES).fill(200),
    );
    assert.deepEqual(
      charged.map((r) => r.body.balance).sort((x, y) => x - y),
      range(1, CHARGES).map((i) => i * CHARGE),
      'no charge was lost or applied twice',
    );
    const total = CHARGE * CHARGES;
    assert.ok(total > price);
    for (const server of servers) {
      const points = await call<{ balance: number }>(server, 'GET', `/api/users/${userId}/points`, { key });
      assert.equal(points.body.balance, total, `balance on ${server.name}`);
    }

    // 10 payments of the same reservation at once, half on each process.
    const paid = await Promise.all(
      range(1, 10).map((i) =>
        call<{ paymentId: string; amount: number; balance: number } & Partial<ErrorBody>>(
          servers[i % 2],
          'POST',
          '/api/payments',
          { key, body: { userId, reservationId } },
        ),
      ),
    );
    const summary = JSON.stringify(paid.map((r) => [r.status, r.body.error?.code]));
    assert.equal(paid.filter((r) => r.status >= 500).length, 0, `no 5xx: ${summary}`);
    const ok = paid.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, `exactly one payment: ${summary}`);
    assert.deepEqual([ok[0].body.amount, ok[0].body.balance], [price, total - price]);
    for (const r of paid.filter((x) => x.status !== 200)) {
      // The loser either saw the payment, or came after it freed the user's waiting-room slot.
      const expected = r.status === 401 ? 'TOKEN_EXPIRED' : 'ALREADY_PAID';
      assert.equal(r.body.error?.code, expected, summary);
    }

    // The payment freed the slot; back through the waiting room to read the balance on both processes.
    key = (await admitAll(servers, [userId])).get(userId)!;
    for (const server of servers) {
      const points = await call<{ balance: number }>(server, 'GET', `/api/users/${userId}/points`, { key });
      assert.equal(points.body.balance, total - price, `debited once, as seen from ${server.name}`);
      const r = await call<{ status: string }>(server, 'GET', `/api/reservations/${reservationId}`, { key });
      assert.equal(r.body.status, 'CONFIRMED');
    }

    // And in the database itself: one payment row, one debit, a ledger that sums to the balance.
    const client = new pg.Client({ connectionString: d.testDb.url });
    await client.connect();
    try {
      const payments = await client.query(
        'SELECT count(*)::int AS n FROM payments WHERE reservation_id = $1',
        [reservationId],
      );
      assert.equal(payments.rows[0].n, 1);
      const ledger = await client.query(
        `SELECT count(*) FILTER (WHERE reason = 'PAYMENT')::int AS debits, sum(delta)::bigint AS sum
           FROM point_ledger WHERE user_id = $1`,
        [userId],
      );
      assert.equal(ledger.rows[0].debits, 1);
      assert.equal(Number(ledger.rows[0].sum), total - price);
    } finally {
      await client.end();
    }
  });
});

// Each worker reports how it ended on stderr; a worker killed by a signal never runs its exit handlers.
const exitReporter = [
  'import { writeSync } from "node:fs";',
  'import cluster from "node:cluster";',
  'process.on("exit", (code) => {',
  '  if (cluster.isWorker) writeSync(2, "worker-exit " + process.pid + " " + code + "\\n");',
  '});',
].join('\n');

describe('serve --workers 2', { skip }, () => {
  let backing: Backing;
  before(async () => {
    backing = await freshBacking({
      LOG_LEVEL: 'info',
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=data:text/javascript,${encodeURIComponent(exitReporter)}`,
    });
  });
  after(async () => backing?.drop());

  /** Pids of the workers that logged 'ticketrush listening'. */
  const listening = (primary: ServerProcess): number[] => {
    const pids = new Set<number>();
    for (const line of primary.stdout().split('\n'))
      if (line.includes('"ticketrush listening"')) pids.add((JSON.parse(line) as { pid: number }).pid);
    return [...pids];
  };
  /** Worker pid -> exit code, as the exit reporter wrote them. */
  const exits = (primary: ServerProcess): Map<number, number> =>
    new Map(
      [...primary.stderr().matchAll(/^worker-exit (\d+) (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]),
    );

  /** Starts the cluster, waits for both workers to listen, and hands the primary and worker pids to `check`. */
  const withCluster = async (check: (primary: ServerProcess, workers: number[]) => Promise<void>) => {
    const primary = await spawnServer('primary', backing.env, { args: ['--workers', '2'], detached: true });
    try {
      // The first worker migrates, seeds and listens; the second starts after it.
      const deadline = Date.now() + 60_000;
      while (listening(primary).length < 2) {
        assert.ok(Date.now() < deadline, `two workers listening\n${primary.output()}`);
        await sleep(100);
      }
      const workers = listening(primary);
      assert.ok(!workers.includes(primary.child.pid!), 'the workers are not the primary');
      const ready = await fetch(`${primary.url}/health/ready`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { status: string }).status, 'ok');
      await check(primary, workers);
    } finally {
      await primary.stop({ group: true });
    }
  };

  const assertDrained = async (primary: ServerProcess, workers: number[], code: number | null) => {
    assert.equal(code, 0, primary.output());
    assert.ok(!primary.output().includes('starting another'), 'no worker is replaced while stopping');
    const ended = exits(primary);
    for (const pid of workers) {
      // Exit code 0 comes from the graceful close; a signal's default action would leave no report.
      assert.equal(ended.get(pid), 0, `worker ${pid} closed gracefully\n${primary.output()}`);
      assert.equal(alive(pid), false, `worker ${pid} is gone`);
    }
    assert.equal(await portOpen('127.0.0.1', primary.port), false, 'the port is closed');
  };

  test('forks two workers on one port, is ready, and drains both on SIGTERM to the primary', async () => {
    await withCluster(async (primary, workers) => assertDrained(primary, workers, await primary.stop()));
  });

  test('drains both workers when the whole process group gets SIGTERM (Ctrl+C, systemd)', async () => {
    // Each worker then gets the signal twice: from the group, and forwarded by the primary.
    await withCluster(async (primary, workers) =>
      assertDrained(primary, workers, await primary.stop({ group: true })),
    );
  });
});
