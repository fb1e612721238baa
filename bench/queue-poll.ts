// The waiting room on Redis as the crowd grows: at each size, in one run, the poll route against a bare Fastify
// route doing one ZRANK, and the token issue route against a bare route doing one ZADD, on the same Redis, under
// the same load; then each route's throughput against its own figure at the first size.
// Usage: node bench/queue-poll.ts [sizes, e.g. 1000,100000,1000000] [seconds] [connections] [rounds]
// Every size gets a waiting room of its own, in a Redis database of its own (so a small room's keys are not looked
// up in a big room's table), filled by pipelined token issues before any round and deleted after. Each round then
// visits every size in turn, so a size's figure is compared with the first size's from the same round, seconds
// apart, not minutes: on this shared machine the throughput of one target drifts by a quarter between runs.
// BENCH_WHOLE_APP=1 also measures the poll in the whole app (it seeds one SQLite user per waiter:
// slow past 100,000). BENCH_CPU_PROF=1 writes a CPU profile of the server process to /tmp/qprof.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
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
import { buildRequestValidator } from '../src/http/validation.ts';
import { RedisQueueStore } from '../src/queue/redis-store.ts';
import { portOpen, serverUrls } from '../test/support/backends.ts';
import { dropQueueKeys } from '../test/support/redis-keys.ts';
import { median } from './rounds.ts';

const args = process.argv.slice(2).filter((a) => a !== '--serve');
const sizes = (args[0] ?? '1000,100000,1000000').split(',').map(Number);
const seconds = Number(args[1] ?? 3);
const connections = Number(args[2] ?? 64);
/** Rounds alternate the targets (the readers', then the writers'), so drifting background load hits each pair alike. */
const rounds = Number(args[3] ?? 3);
const wholeApp = process.env.BENCH_WHOLE_APP === '1';
const settings = {
  admitPerSecond: 200,
  maxActive: 2000,
  activeTtlSeconds: 300,
  activeIdleSeconds: 15,
  tokenGraceSeconds: 30,
  idleTimeoutSeconds: 300,
};
/** Token issues in flight while a room is filled (ioredis pipelines them). */
const FILL_IN_FLIGHT = 2000;

/** What the server process sent Redis so far, its own CPU time and the Redis server's (all of its clients'). */
interface Counts {
  sent: Record<string, number>;
  serverCpuUs: number;
  redisCpuUs: number;
}

type FromDriver = { fill: number } | { trim: number } | { counts: true } | { stop: true };

interface Filled {
  barePort: number;
  pollPort: number;
  appPort?: number;
  /** A file with one access key per line, user 1 first. */
  keysFile: string;
  appKeysFile?: string;
  fillSeconds: number;
  redisBytes: number;
}

const redisBytes = async (redis: Redis) =>
  Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);

/** Set on SIGINT: a fill stops at its next batch. */
let stopping = false;

async function issueAll(room: WaitingRoom, users: number): Promise<string[]> {
  const keys: string[] = new Array(users);
  for (let from = 1; from <= users && !stopping; from += FILL_IN_FLIGHT) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(FILL_IN_FLIGHT, users - from + 1) }, (_, i) => room.issueToken(from + i)),
    );
    batch.forEach((t, i) => {
      keys[from + i - 1] = t.accessKey!;
    });
  }
  return keys;
}

/** The whole ticketrush app as `serve` builds it (metrics, overload guard, request ids), on the same Redis. */
async function fullApp(hashTag: string, users: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tr-bench-'));
  const config = loadConfig({
    TR_DB: `sqlite:${join(dir, 'ticketrush.db')}`,
    TR_QUEUE: serverUrls.redis,
    TR_QUEUE_NAME: `${hashTag}-app`,
    TR_DEMO_USERS: String(users),
    TR_DEMO_SCHEDULES: '10',
    TR_ADMIT_ADAPTIVE: 'false',
    TR_ADMIT_PER_SECOND: '1',
    TR_IDLE_TIMEOUT_SECONDS: '600',
  });
  const composition = await compose(config, { prepareDatabase: true });
  const app = await buildApp({ config, services: composition.services });
  composition.start();
  const keys = await issueAll(composition.services.waitingRoom, users);
  return {
    app,
    keys,
    close: async () => {
      await app.close();
      await composition.close();
      await dropQueueKeys(`${hashTag}-app`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The room being filled, so an interrupted fill still deletes what it wrote. */
let filling: RedisQueueStore | undefined;

/** One waiting room of `users` waiters, on its own connection to its own database, with the routes measured against it. */
async function room(redis: Redis, users: number, dir: string) {
  const memoryBefore = await redisBytes(redis);
  const hashTag = `bench-${randomBytes(6).toString('hex')}`;
  const store = new RedisQueueStore({
    redis,
    settings: {
      activeTtlMs: settings.activeTtlSeconds * 1000,
      activeIdleMs: settings.activeIdleSeconds * 1000,
      tokenGraceMs: settings.tokenGraceSeconds * 1000,
    },
    hashTag,
  });
  filling = store;
  const waitingRoom = new WaitingRoom({ store, clock: systemClock, settings });
  const started = performance.now();
  const keys = await issueAll(waitingRoom, users);
  if (stopping) throw new Error('interrupted');
  // The bare routes' own line, as long as the room's; its scores are 1..users, newcomers come after.
  const bareLine = `${store.prefix}bare-line`;
  for (let from = 1; from <= users; from += 10_000) {
    const members: Array<number | string> = [];
    for (let u = from; u < Math.min(from + 10_000, users + 1); u++) members.push(u, String(u));
    await redis.zadd(bareLine, ...members);
  }
  const fillSeconds = (performance.now() - started) / 1000;
  filling = undefined;
  const keysFile = join(dir, `keys-${users}`);
  writeFileSync(keysFile, keys.join('\n'));
  keys.length = 0;

  const waitingKey = `${store.prefix}waiting`;
  let bareSeq = users;
  const bare = Fastify();
  bare.get<{ Params: { userId: string } }>('/bare/:userId', async (req) => {
    const rank = await redis.zrank(waitingKey, req.params.userId);
    return { order: rank === null ? 0 : rank + 1 };
  });
  bare.post<{ Params: { userId: string } }>('/bare/:userId', async (req) => {
    await redis.zadd(bareLine, ++bareSeq, req.params.userId);
    return { ok: true };
  });
  // The app's request validation (a JSON body typed strictly, path integers in canonical form).
  const poll = Fastify({ schemaController: { compilersFactory: { buildValidator: buildRequestValidator } } });
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
  const full = wholeApp ? await fullApp(hashTag, users) : undefined;
  let appKeysFile: string | undefined;
  if (full) {
    appKeysFile = join(dir, `app-keys-${users}`);
    writeFileSync(appKeysFile, full.keys.join('\n'));
    full.keys.length = 0;
  }
  const servers: FastifyInstance[] = [bare, poll, ...(full ? [full.app] : [])];
  for (const s of servers) await s.listen({ host: '127.0.0.1', port: 0 });
  const portOf = (app: FastifyInstance) => (app.server.address() as { port: number }).port;
  const filled: Filled = {
    barePort: portOf(bare),
    pollPort: portOf(poll),
    appPort: full ? portOf(full.app) : undefined,
    keysFile,
    appKeysFile,
    fillSeconds,
    redisBytes: (await redisBytes(redis)) - memoryBefore,
  };
  return {
    filled,
    /**
     * Takes the newcomers of a token-issue round out of the room, their records and access keys too, so the next
     * round sees the room it was filled as: left behind, they grew Redis's table of keys round by round.
     */
    async trim() {
      for (;;) {
        const newcomers = await redis.zrangebyscore(waitingKey, `(${users}`, '+inf', 'LIMIT', 0, 10_000);
        if (newcomers.length === 0) break;
        const records = newcomers.map((u) => `${store.prefix}user:${u}`);
        const read = redis.pipeline();
        for (const r of records) read.hmget(r, 'key', 'prevKey');
        const accessKeys = ((await read.exec()) ?? []).flatMap(
          ([, keys]) => (keys as Array<string | null>) ?? [],
        );
        const gone = [
          ...records,
          ...accessKeys.filter((k) => k !== null).map((k) => `${store.prefix}key:${k}`),
        ];
        await redis.del(...gone);
        await redis.zrem(waitingKey, ...newcomers);
        await redis.zrem(`${store.prefix}idle`, ...newcomers);
      }
      await redis.zremrangebyscore(bareLine, `(${users}`, '+inf');
    },
    async clear() {
      for (const s of servers) await s.close();
      await full?.close();
      await store.destroy();
      redis.disconnect();
      rmSync(keysFile, { force: true });
      if (appKeysFile) rmSync(appKeysFile, { force: true });
    },
  };
}

/** The first Redis database the rooms use: room i of the run lives in database FIRST_DB + i. */
const FIRST_DB = 10;

/** The servers run in a child process, so the load generator does not steal their CPU. */
async function serve(): Promise<void> {
  // Commands this process sent, by name, over all its connections: what a poll costs Redis, without the noise of
  // other clients.
  const sent: Record<string, number> = {};
  const connect = (db: number) => {
    const redis = new Redis(serverUrls.redis, { enableAutoPipelining: true, db });
    const sendCommand = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, ...rest) => {
      sent[command.name] = (sent[command.name] ?? 0) + 1;
      return sendCommand(command, ...rest);
    };
    return redis;
  };
  const probe = connect(FIRST_DB);
  const dir = mkdtempSync(join(tmpdir(), 'tr-bench-keys-'));
  const rooms = new Map<number, Awaited<ReturnType<typeof room>>>();
  const clear = async () => {
    for (const r of rooms.values()) await r.clear();
    rooms.clear();
  };
  // An interrupted run still deletes its rooms.
  let making: Promise<unknown> = Promise.resolve();
  process.once('SIGINT', () => {
    stopping = true;
    void making.then(() => Promise.all([clear(), filling?.destroy()])).finally(() => process.exit(130));
  });
  process.on('message', async (m: FromDriver) => {
    if ('fill' in m) {
      const next = room(connect(FIRST_DB + rooms.size), m.fill, dir);
      making = next.catch(() => {});
      try {
        const made = await next;
        rooms.set(m.fill, made);
        process.send?.(made.filled);
      } catch {
        return; // interrupted: the SIGINT handler deletes what was written
      }
    } else if ('trim' in m) {
      await rooms.get(m.trim)?.trim();
      process.send?.('trimmed');
    } else if ('counts' in m) {
      const cpu = process.cpuUsage();
      const info = await probe.info('cpu');
      const redisSeconds = ['used_cpu_user', 'used_cpu_sys'].reduce(
        (n, f) => n + Number(new RegExp(`${f}:([\\d.]+)`).exec(info)?.[1] ?? 0),
        0,
      );
      process.send?.({
        sent: { ...sent },
        serverCpuUs: cpu.user + cpu.system,
        redisCpuUs: redisSeconds * 1e6,
      } satisfies Counts);
    } else {
      await clear();
      rmSync(dir, { recursive: true, force: true });
      probe.disconnect();
      process.exit(0);
    }
  });
  process.send?.('ready');
}

type Result = Awaited<ReturnType<typeof autocannon>>;

interface Measured {
  size: number;
  fillSeconds: number;
  redisMb: number;
  bare: Result[];
  poll: Result[];
  bareAdd: Result[];
  issue: Result[];
  app: Result[];
  /** Redis commands the server process sent per poll of the poll route, by name. */
  commandsPerPoll: Record<string, number>;
  /** CPU per poll of the poll route (µs): the server process, Redis (any other client's too), the load generator. */
  cpuPerPoll: { server: number; redis: number; load: number };
}

const throughput = (rs: Result[]) =>
  rs.reduce((n, r) => n + r.requests.total, 0) / rs.reduce((n, r) => n + r.duration, 0);
const rate = (r: Result) => r.requests.total / r.duration;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const failures = (rs: Result[]) => rs.reduce((n, r) => n + r.non2xx + r.errors, 0);

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
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`))),
  );
  const ask = <T>(m: FromDriver | undefined) => {
    const answer = new Promise<T>((resolve) => child.once('message', (a) => resolve(a as T)));
    if (m) child.send(m);
    return Promise.race([answer, exited]);
  };
  await ask<string>(undefined);
  process.once('SIGINT', () => {
    child.kill('SIGINT');
    child.once('exit', () => process.exit(130));
  });

  console.log(
    `bench:queue: waiting rooms of ${sizes.join(', ')} users on Redis ${serverUrls.redis}; ${connections} connections; ` +
      `${rounds} alternating rounds of ${seconds} s per target; load average ${loadAverage()}`,
  );
  const measured: Measured[] = [];
  const targetsOf = new Map<number, ReturnType<typeof targetsFor>>();
  try {
    for (const size of sizes) {
      console.log(`filling a room of ${size} waiters (database ${FIRST_DB + measured.length})…`);
      const filled = await ask<Filled>({ fill: size });
      console.log(
        `  filled in ${filled.fillSeconds.toFixed(1)} s, ${(filled.redisBytes / 2 ** 20).toFixed(0)} MB of Redis`,
      );
      targetsOf.set(size, targetsFor(size, filled));
      measured.push({
        size,
        fillSeconds: filled.fillSeconds,
        redisMb: filled.redisBytes / 2 ** 20,
        bare: [],
        poll: [],
        bareAdd: [],
        issue: [],
        app: [],
        commandsPerPoll: {},
        cpuPerPoll: { server: 0, redis: 0, load: 0 },
      });
    }
    // Warm-up: JIT, connection pools and the script cache, not measured.
    for (const m of measured) {
      const targets = targetsOf.get(m.size)!;
      await targets.bare(1);
      await targets.poll(1);
      await targets.bareAdd(1);
      await targets.issue(1);
      await ask({ trim: m.size });
    }
    const polls = new Map<number, number>();
    const commands = new Map<number, Record<string, number>>();
    // Every round visits every size, in turn (the order reversed every other round, so no size always runs first).
    // The routes that only read the rooms first, then those that add to them: a round of token issues adds tens of
    // thousands of users, and at a million waiters that crosses a doubling of Redis's table of keys (2^21: a
    // million waiters hold two keys each), whose incremental rehash then ran through the next rounds' polls
    // (11 % of Redis's CPU in a profile of them). Each pair still alternates, so drift hits both alike.
    const order = (r: number) => (r % 2 === 0 ? measured : [...measured].reverse());
    for (let r = 0; r < rounds; r++) {
      for (const m of order(r)) {
        const targets = targetsOf.get(m.size)!;
        m.bare.push(await targets.bare());
        const before = await ask<Counts>({ counts: true });
        const loadBefore = process.cpuUsage();
        const p = await targets.poll();
        const load = process.cpuUsage(loadBefore);
        const after = await ask<Counts>({ counts: true });
        const sent = commands.get(m.size) ?? {};
        for (const name of new Set([...Object.keys(before.sent), ...Object.keys(after.sent)]))
          sent[name] = (sent[name] ?? 0) + (after.sent[name] ?? 0) - (before.sent[name] ?? 0);
        commands.set(m.size, sent);
        m.cpuPerPoll.server += after.serverCpuUs - before.serverCpuUs;
        m.cpuPerPoll.redis += after.redisCpuUs - before.redisCpuUs;
        m.cpuPerPoll.load += load.user + load.system;
        polls.set(m.size, (polls.get(m.size) ?? 0) + p.requests.total);
        m.poll.push(p);
        if (wholeApp) m.app.push(await targets.app());
      }
      console.log(`  readers' round ${r + 1} of ${rounds} done (load average ${loadAverage()})`);
    }
    for (let r = 0; r < rounds; r++) {
      for (const m of order(r)) {
        const targets = targetsOf.get(m.size)!;
        m.bareAdd.push(await targets.bareAdd());
        m.issue.push(await targets.issue());
        await ask({ trim: m.size });
      }
      console.log(`  writers' round ${r + 1} of ${rounds} done (load average ${loadAverage()})`);
    }
    for (const m of measured) {
      for (const [name, n] of Object.entries(commands.get(m.size) ?? {}))
        m.commandsPerPoll[name] = n / (polls.get(m.size) ?? 1);
      for (const k of ['server', 'redis', 'load'] as const) m.cpuPerPoll[k] /= polls.get(m.size) ?? 1;
    }
    report(measured);
  } finally {
    child.send({ stop: true } satisfies FromDriver);
    await exited.catch(() => {});
  }
}

/** The load of each target against one room. */
function targetsFor(size: number, filled: Filled) {
  const keys = keyList(filled.keysFile);
  const appKeys = filled.appKeysFile ? keyList(filled.appKeysFile) : keyList(undefined);
  const pick = () => 1 + Math.floor(Math.random() * size);
  let newcomer = size;
  const load = (
    port: number,
    setup: (req: { method?: string; path?: string; headers?: Record<string, string> }) => void,
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
  return {
    bare: (d?: number) =>
      load(
        filled.barePort,
        (req) => {
          req.path = `/bare/${pick()}`;
        },
        d,
      ),
    poll: (d?: number) =>
      load(
        filled.pollPort,
        (req) => {
          const userId = pick();
          req.path = `/api/users/${userId}/token`;
          req.headers = { authorization: keys.at(userId - 1) };
        },
        d,
      ),
    bareAdd: (d?: number) =>
      load(
        filled.barePort,
        (req) => {
          req.method = 'POST';
          req.path = `/bare/${++newcomer}`;
        },
        d,
      ),
    issue: (d?: number) =>
      load(
        filled.pollPort,
        (req) => {
          req.method = 'POST';
          req.path = `/api/users/${++newcomer}/token`;
        },
        d,
      ),
    app: (d?: number) =>
      load(
        filled.appPort ?? 0,
        (req) => {
          const userId = pick();
          req.path = `/api/users/${userId}/token`;
          req.headers = { authorization: appKeys.at(userId - 1) };
        },
        d,
      ),
  };
}

/**
 * The access keys of a file, one a line, as one string and the offsets of its lines: a million keys as a million
 * strings made every major collection of the load generator mark them all, a cost per request that grew with the
 * line's length and slowed every target alike (the bare routes too), which the server never pays.
 */
function keyList(file: string | undefined): { at(i: number): string } {
  const text = file === undefined ? '' : readFileSync(file, 'utf8');
  const starts: number[] = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const offsets = Uint32Array.from(starts);
  return { at: (i) => text.slice(offsets[i], i + 1 < offsets.length ? offsets[i + 1] - 1 : text.length) };
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** The table of every size. */
function report(measured: Measured[]): void {
  const first = measured[0];
  // A round runs each size's targets seconds apart, so ratios are taken round by round, then their median.
  const perRound = (rs: Result[], base: Result[]) => median(rs.map((r, i) => rate(r) / rate(base[i])));
  const ofFirst = (m: Measured, pick: (m: Measured) => Result[]) => perRound(pick(m), pick(first));
  console.log(`\n${measured.length} rooms (load average ${loadAverage()}):`);
  // "vs first" compares a route's throughput at this size with the first size's in the same round; "vs first, per
  // bare" compares its ratio to its bare route (the extra work beyond one ZRANK or ZADD) with the first size's.
  console.log(
    'waiting    fill s  Redis MB | bare ZRANK/s   poll/s  poll/bare  vs first  per bare  p99 ms |' +
      ' bare ZADD/s  issue/s  issue/bare  vs first  per bare  p99 ms | failures',
  );
  for (const m of measured) {
    const poll = perRound(m.poll, m.bare);
    const issue = perRound(m.issue, m.bareAdd);
    console.log(
      `${String(m.size).padStart(9)} ${m.fillSeconds.toFixed(1).padStart(7)} ${m.redisMb.toFixed(0).padStart(9)} |` +
        ` ${throughput(m.bare).toFixed(0).padStart(12)} ${throughput(m.poll).toFixed(0).padStart(8)}` +
        ` ${pct(poll).padStart(10)} ${pct(ofFirst(m, (x) => x.poll)).padStart(9)}` +
        ` ${pct(poll / perRound(first.poll, first.bare)).padStart(9)}` +
        ` ${String(median(m.poll.map((r) => r.latency.p99))).padStart(7)} |` +
        ` ${throughput(m.bareAdd).toFixed(0).padStart(11)} ${throughput(m.issue).toFixed(0).padStart(8)}` +
        ` ${pct(issue).padStart(11)} ${pct(ofFirst(m, (x) => x.issue)).padStart(9)}` +
        ` ${pct(issue / perRound(first.issue, first.bareAdd)).padStart(9)}` +
        ` ${String(median(m.issue.map((r) => r.latency.p99))).padStart(7)} |` +
        ` ${failures([...m.bare, ...m.poll, ...m.bareAdd, ...m.issue, ...m.app])}`,
    );
  }
  if (measured.length > 1) {
    const round = (pick: (m: Measured) => Result[]) =>
      measured
        .slice(1)
        .map(
          (m) =>
            `${m.size}: ` +
            pick(m)
              .map((r, i) => pct(rate(r) / rate(pick(first)[i])))
              .join(', '),
        )
        .join('; ');
    console.log(`vs first, round by round: poll ${round((m) => m.poll)}; issue ${round((m) => m.issue)}`);
  }
  console.log(
    'Redis commands per poll: ' +
      measured
        .map(
          (m) =>
            `${m.size}: ` +
            Object.entries(m.commandsPerPoll)
              .filter(([, n]) => n >= 0.005)
              .map(([name, n]) => `${name} ${n.toFixed(2)}`)
              .join(', '),
        )
        .join('; '),
  );
  console.log(
    'CPU per poll (µs; Redis counts all its clients): ' +
      measured
        .map((m) => {
          const c = m.cpuPerPoll;
          return `${m.size}: server ${c.server.toFixed(1)}, Redis ${c.redis.toFixed(1)}, load generator ${c.load.toFixed(1)}`;
        })
        .join('; '),
  );
  if (measured.some((m) => m.app.length > 0)) {
    console.log(
      'whole app poll/bare (metrics, overload guard, request ids, background ticker): ' +
        measured.map((m) => `${m.size}: ${pct(perRound(m.app, m.bare))}`).join(', '),
    );
  }
  const last = measured.at(-1)!;
  if (measured.length > 1) {
    console.log(
      `goal: poll at ${last.size} >= 85 % of poll at ${first.size}: ${pct(ofFirst(last, (x) => x.poll))} ` +
        `(per bare ${pct(perRound(last.poll, last.bare) / perRound(first.poll, first.bare))}); ` +
        `issue: ${pct(ofFirst(last, (x) => x.issue))} ` +
        `(per bare ${pct(perRound(last.issue, last.bareAdd) / perRound(first.issue, first.bareAdd))})`,
    );
  }
}

if (process.argv.includes('--serve')) await serve();
else await drive();
