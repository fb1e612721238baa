// Throughput of the waiting-room poll route on Redis against a bare Fastify route doing one ZRANK on the
// same Redis, same load, same run. Usage: node bench/queue-poll.ts [waiters] [seconds] [connections] [rounds]
// (BENCH_CPU_PROF=1 writes a CPU profile of the server process to /tmp/qprof.)
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../src/app.ts';
import { compose } from '../src/compose.ts';
import { loadConfig } from '../src/config.ts';
import { systemClock } from '../src/domain/clock.ts';
import { anyoneMayNameAnyUser } from '../src/domain/identity.ts';
import { WaitingRoom } from '../src/domain/waiting-room.ts';
import { installErrorHandling } from '../src/http/errors.ts';
import { queueRoutes } from '../src/http/queue.ts';
import { registerRateLimiting } from '../src/http/rate-limit.ts';
import { RedisQueueStore } from '../src/queue/redis-store.ts';
import { portOpen, serverUrls } from '../test/support/backends.ts';

const args = process.argv.slice(2).filter((a) => a !== '--serve');
const waiters = Number(args[0] ?? 10_000);
const seconds = Number(args[1] ?? 3);
const connections = Number(args[2] ?? 64);
/** Rounds alternate the two targets, so drifting background load hits both alike. */
const rounds = Number(args[3] ?? 3);
const settings = {
  admitPerSecond: 200,
  maxActive: 2000,
  activeTtlSeconds: 300,
  activeIdleSeconds: 15,
  tokenGraceSeconds: 30,
  idleTimeoutSeconds: 300,
};

interface Ready {
  barePort: number;
  pollPort: number;
  appPort: number;
  keys: string[];
  appKeys: string[];
}

/** The whole ticketrush app as `serve` builds it (metrics, overload guard, request ids), on the same Redis. */
async function fullApp(hashTag: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tr-bench-'));
  const config = loadConfig({
    TR_DB: `sqlite:${join(dir, 'ticketrush.db')}`,
    TR_QUEUE: serverUrls.redis,
    TR_QUEUE_NAME: `${hashTag}-app`,
    TR_DEMO_USERS: String(waiters),
    TR_DEMO_SCHEDULES: '10',
    TR_ADMIT_ADAPTIVE: 'false',
    TR_ADMIT_PER_SECOND: '1',
    TR_IDLE_TIMEOUT_SECONDS: '600',
  });
  const composition = await compose(config, { prepareDatabase: true });
  const app = await buildApp({ config, services: composition.services });
  composition.start();
  const room = composition.services.waitingRoom;
  const keys: string[] = [];
  for (let from = 1; from <= waiters; from += 1000) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(1000, waiters - from + 1) }, (_, i) => room.issueToken(from + i)),
    );
    for (const t of batch) keys.push(t.accessKey!);
  }
  return {
    app,
    keys,
    close: async () => {
      await app.close();
      await composition.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The servers run in a child process, so the load generator does not steal their CPU. */
async function serve(): Promise<void> {
  const hashTag = `bench-${randomBytes(6).toString('hex')}`;
  const redis = new Redis(serverUrls.redis, { enableAutoPipelining: true });
  const store = new RedisQueueStore({
    redis,
    settings: {
      activeTtlMs: settings.activeTtlSeconds * 1000,
      activeIdleMs: settings.activeIdleSeconds * 1000,
      tokenGraceMs: settings.tokenGraceSeconds * 1000,
    },
    hashTag,
  });
  const waitingRoom = new WaitingRoom({ store, clock: systemClock, settings });
  const keys: string[] = [];
  for (let from = 1; from <= waiters; from += 1000) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(1000, waiters - from + 1) }, (_, i) => waitingRoom.issueToken(from + i)),
    );
    for (const t of batch) keys.push(t.accessKey!);
  }

  const bare = Fastify();
  const waitingKey = `${store.prefix}waiting`;
  bare.get<{ Params: { userId: string } }>('/bare/:userId', async (req) => {
    const rank = await redis.zrank(waitingKey, req.params.userId);
    return { order: rank === null ? 0 : rank + 1 };
  });
  const poll = Fastify();
  installErrorHandling(poll);
  const tokenIssueLimits = {
    perIpPerMinute: 0,
    perUserPerMinute: 0,
    exemptLoopback: true,
    store: 'memory',
  } as const;
  await registerRateLimiting(poll, tokenIssueLimits);
  await poll.register(queueRoutes, {
    services: { waitingRoom, identity: anyoneMayNameAnyUser, tokenIssueLimits },
  });
  const full = await fullApp(hashTag);
  await bare.listen({ host: '127.0.0.1', port: 0 });
  await poll.listen({ host: '127.0.0.1', port: 0 });
  await full.app.listen({ host: '127.0.0.1', port: 0 });
  const portOf = (app: { server: { address(): unknown } }) => (app.server.address() as { port: number }).port;
  process.send?.({
    barePort: portOf(bare),
    pollPort: portOf(poll),
    appPort: portOf(full.app),
    keys,
    appKeys: full.keys,
  } satisfies Ready);
  process.once('message', async () => {
    await bare.close();
    await poll.close();
    await full.close();
    await store.destroy();
    redis.disconnect();
    process.exit(0);
  });
}

async function drive(): Promise<void> {
  const url = new URL(serverUrls.redis);
  if (!(await portOpen(url.hostname, Number(url.port || 6379)))) {
    console.log(`bench:queue skipped: Redis is not reachable at ${serverUrls.redis} (set TR_TEST_REDIS)`);
    return;
  }
  const child = fork(new URL(import.meta.url), ['--serve', ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/qprof'] : [],
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  const pick = () => 1 + Math.floor(Math.random() * waiters);
  const load = (
    port: number,
    setup: (req: { path?: string; headers?: Record<string, string> }) => void,
    duration = seconds,
  ) =>
    autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration,
      requests: [
        {
          setupRequest: (req) => {
            setup(req);
            return req;
          },
        },
      ],
    });
  const bareLoad = (duration?: number) =>
    load(
      ready.barePort,
      (req) => {
        req.path = `/bare/${pick()}`;
      },
      duration,
    );
  const pollLoad = (duration?: number) =>
    load(
      ready.pollPort,
      (req) => {
        const userId = pick();
        req.path = `/api/users/${userId}/token`;
        req.headers = { authorization: ready.keys[userId - 1] };
      },
      duration,
    );

  const appLoad = (duration?: number) =>
    load(
      ready.appPort,
      (req) => {
        const userId = pick();
        req.path = `/api/users/${userId}/token`;
        req.headers = { authorization: ready.appKeys[userId - 1] };
      },
      duration,
    );

  console.log(
    `bench:queue: ${waiters} waiting users on Redis ${serverUrls.redis}; ${connections} connections; ` +
      `${rounds} alternating rounds of ${seconds} s per target`,
  );
  // Warm-up: JIT, connection pools and the script cache, not measured.
  await bareLoad(2);
  await pollLoad(2);
  await appLoad(2);
  type Result = Awaited<ReturnType<typeof autocannon>>;
  const bare: Result[] = [];
  const poll: Result[] = [];
  const full: Result[] = [];
  for (let r = 0; r < rounds; r++) {
    bare.push(await bareLoad());
    poll.push(await pollLoad());
    full.push(await appLoad());
  }
  const throughput = (rs: Result[]) =>
    rs.reduce((n, r) => n + r.requests.total, 0) / rs.reduce((n, r) => n + r.duration, 0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (name: string, rs: Result[]) =>
    console.log(
      `${name.padEnd(30)} ${throughput(rs).toFixed(0).padStart(7)} req/s   ` +
        `p50 ${String(median(rs.map((r) => r.latency.p50))).padStart(3)} ms   ` +
        `p99 ${String(median(rs.map((r) => r.latency.p99))).padStart(3)} ms (median of rounds)   ` +
        `non-2xx ${rs.reduce((n, r) => n + r.non2xx, 0)}   errors ${rs.reduce((n, r) => n + r.errors, 0)}   ` +
        `rounds ${rs.map((r) => r.requests.average.toFixed(0)).join('/')}`,
    );
  row('bare Fastify + one ZRANK', bare);
  row('GET /api/users/:userId/token', poll);
  row('  ... in the whole app', full);
  const ratio = throughput(poll) / throughput(bare);
  // Each round runs the targets back to back, so a round's ratio is the least disturbed by drifting load.
  const perRound = (rs: Result[]) => rs.map((r, i) => r.requests.total / bare[i].requests.total);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(
    `ratio poll/bare: ${pct(ratio)} overall, median of rounds ${pct(median(perRound(poll)))} ` +
      `(rounds ${perRound(poll).map(pct).join(', ')}; target >= 70 %)`,
  );
  console.log(
    `ratio whole app/bare: ${pct(throughput(full) / throughput(bare))} overall, median of rounds ${pct(median(perRound(full)))} ` +
      '(the route plus metrics, overload guard, request ids and the background ticker)',
  );
  child.send('stop');
  await new Promise((resolve) => child.once('exit', resolve));
}

if (process.argv.includes('--serve')) await serve();
else await drive();
