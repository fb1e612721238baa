// A single sale's ceiling on one Redis Cluster shard, and what spreading sales over the masters buys.
// Starts its own 3-master cluster (as the test suite does), fills one room per master, then measures token issue
// and poll against bare ZADD / ZRANK on the same shard, in the same run: one room (all load on one master) vs
// three rooms on three masters. Besides throughput it reads each master's own CPU time (INFO cpu), so the cost per
// operation on the shard is known even when this shared machine, not Redis, is what runs out. Last, the opening of
// a sale with a pre-queue: the draw for all the room's entrants, read and placed a slice at a time on its master.
// Usage: node bench/queue-cluster.ts [seconds=3] [in-flight per worker=128] [rounds=3] [workers=2] [waiters per room=50000]
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import type { Cluster } from 'ioredis';
import type { HeartbeatPolicy, QueueStoreSettings } from '../src/domain/queue-store.ts';
import { DRAW_SLICE, runDraw } from '../src/domain/sales/draw-run.ts';
import { connectRedis } from '../src/queue/redis-connection.ts';
import { RedisQueueStore } from '../src/queue/redis-store.ts';
import { binaries } from '../test/support/private-backends.ts';
import { binariesInstalled } from '../test/support/private-server.ts';
import { RedisCluster, redisCliBinary } from '../test/support/redis-cluster.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seconds = Number(args[0] ?? 3);
const inflight = Number(args[1] ?? 128);
const rounds = Number(args[2] ?? 3);
const workers = Number(args[3] ?? 2);
const waiters = Number(args[4] ?? 50_000);

const settings: QueueStoreSettings = { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 15_000 };
// The server's defaults (src/domain/waiting-room.ts): advice of a fifth of the ETA, 1 s to 20 s.
const heartbeat: HeartbeatPolicy = {
  msPerPosition: 1,
  minPollMs: 1000,
  maxPollMs: 20_000,
  idleFloorMs: 300_000,
  idleFactor: 3,
};

const OPS = {
  zadd: 'bare ZADD (new member)',
  issue: 'token issue (issue script)',
  zrank: 'bare ZRANK',
  poll: 'poll naming the user (poll-batch script: HMGET + ZRANK per poll)',
  script: 'poll through the status script',
} as const;
type Op = keyof typeof OPS;

interface Phase {
  op: Op;
  tags: string[];
  /** Users 1..waiters are in every room; issue phases use ids from here up. */
  firstNewId: number;
}
interface Done {
  ops: number;
  cpuMs: number;
}

const keyOf = (userId: number) => `bench-key-${userId.toString().padStart(12, '0')}`;

/** One load process: `inflight` loops back to back, each sending the phase's operation to one of the rooms. */
async function worker(url: string, index: number): Promise<void> {
  const client = connectRedis(url);
  const rooms = new Map<string, RedisQueueStore>();
  const room = (tag: string) => {
    const store = rooms.get(tag) ?? new RedisQueueStore({ redis: client, settings, hashTag: tag });
    rooms.set(tag, store);
    return store;
  };
  process.on('message', async (m: Phase | 'stop') => {
    if (m === 'stop') {
      client.disconnect();
      process.exit(0);
    }
    const { op, tags, firstNewId } = m;
    const stores = tags.map(room);
    const cpu = process.cpuUsage();
    const end = Date.now() + seconds * 1000;
    let ops = 0;
    let next = firstNewId + index;
    let cursor = index;
    // A fresh store per pass over the line (no store keeps a memory of keys any more; kept so runs compare).
    let polling = tags.map((tag) => new RedisQueueStore({ redis: client, settings, hashTag: tag }));
    const one = async (i: number): Promise<void> => {
      const r = i % tags.length;
      const store = stores[r] as RedisQueueStore;
      const now = Date.now();
      if (op === 'zadd') {
        const id = next;
        next += workers;
        await client.zadd(`${store.prefix}bare`, id, id);
      } else if (op === 'issue') {
        const id = next;
        next += workers;
        await store.issue(id, keyOf(id), now, heartbeat);
      } else {
        const id = 1 + (cursor % waiters);
        cursor += workers;
        if (cursor >= waiters) {
          cursor = index;
          polling = tags.map((tag) => new RedisQueueStore({ redis: client, settings, hashTag: tag }));
        }
        if (op === 'zrank') await client.zrank(`${store.prefix}waiting`, String(id));
        else if (op === 'poll') await (polling[r] as RedisQueueStore).poll(id, keyOf(id), now, heartbeat);
        else await store.status(keyOf(id), now, heartbeat);
      }
    };
    await Promise.all(
      Array.from({ length: inflight }, async (_, lane) => {
        for (let i = lane; Date.now() < end; i += inflight) {
          await one(i);
          ops++;
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    process.send?.({ ops, cpuMs: (used.user + used.system) / 1000 } satisfies Done);
  });
  process.send?.('ready');
}

/** Milliseconds of CPU each master has used so far (its main thread and I/O threads). */
async function masterCpuMs(cluster: Cluster): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const node of cluster.nodes('master')) {
    const info = await node.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    out.set(Number(node.options.port), (field('used_cpu_user') + field('used_cpu_sys')) * 1000);
  }
  return out;
}

/** Bytes the masters hold in memory, together. */
async function usedMemory(cluster: Cluster): Promise<number> {
  let bytes = 0;
  for (const node of cluster.nodes('master'))
    bytes += Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1] ?? 0);
  return bytes;
}

/**
 * The opening of a sale with a pre-queue, as the server runs it (src/domain/sales/draw-run.ts): the draw claimed,
 * the entrants read and the drawn order placed a slice at a time on the sale's master, which serves other
 * clients between the calls. bench/sale-draw.ts has the one-shot baseline and the longest call.
 */
async function measureDraw(admin: Cluster, tag: string): Promise<void> {
  const store = new RedisQueueStore({ redis: admin, settings, hashTag: `${tag}:draw` });
  const now = Date.now();
  for (let from = 1; from <= waiters; from += 2000) {
    const batch: Array<Promise<unknown>> = [];
    for (let id = from; id < from + 2000 && id <= waiters; id++)
      batch.push(store.issue(id, keyOf(id), now, heartbeat, true));
    await Promise.all(batch);
  }
  const before = await masterCpuMs(admin);
  const t0 = performance.now();
  let recorded: number[] | undefined;
  const outcome = await runDraw({
    store,
    seed: 'e'.repeat(64),
    holder: 'bench',
    leaseMs: 60_000,
    now: Date.now,
    recorded: async () => recorded,
    record: async (order) => {
      recorded = order;
      return order;
    },
  });
  const ms = performance.now() - t0;
  const after = await masterCpuMs(admin);
  const cpuMs = [...after].reduce((n, [port, v]) => n + v - (before.get(port) ?? 0), 0);
  const entrants = recorded?.length ?? 0;
  console.log(
    `the opening's draw for ${entrants} pre-queued entrants in one room (${outcome}, in slices of ${DRAW_SLICE}): ` +
      `${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms of the master's CPU, ` +
      `${((cpuMs * 1000) / Math.max(1, entrants)).toFixed(1)} µs per entrant`,
  );
  await store.destroy();
}

async function main(): Promise<void> {
  if (!binariesInstalled('bench:cluster', [binaries.redisServer, redisCliBinary])) return;
  const loadBefore = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  const redisCluster = await RedisCluster.start();
  const children: ReturnType<typeof fork>[] = [];
  const admin = connectRedis(redisCluster.url) as Cluster;
  try {
    // One sale per master: the first sale ids whose hash tags fall in three different masters' slots.
    const slots = (await admin.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const masterOf = async (tag: string) => {
      const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', `tr:{${tag}}:waiting`));
      return slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1] ?? 0;
    };
    const tagOn = new Map<number, string>();
    for (let id = 1; tagOn.size < 3; id++) {
      const m = await masterOf(`sale:${id}`);
      if (!tagOn.has(m)) tagOn.set(m, `sale:${id}`);
    }
    const spread = [...tagOn.values()];
    const single = [spread[0] as string];
    console.log(
      `bench:cluster: 3 masters (${redisCluster.url}); rooms ${spread.map((t, i) => `${t} on :${[...tagOn.keys()][i]}`).join(', ')}; ` +
        `${waiters} waiters per room; ${workers} load processes x ${inflight} in flight; ${rounds} rounds of ${seconds} s per phase`,
    );

    const memoryBefore = await usedMemory(admin);
    // Fill every room with users 1..waiters (pipelined issue scripts), not measured.
    const filler = new Map(
      spread.map((tag) => [tag, new RedisQueueStore({ redis: admin, settings, hashTag: tag })]),
    );
    const started = Date.now();
    for (let from = 1; from <= waiters; from += 2000) {
      const batch: Array<Promise<unknown>> = [];
      for (let id = from; id < from + 2000 && id <= waiters; id++)
        for (const store of filler.values()) batch.push(store.issue(id, keyOf(id), started, heartbeat));
      await Promise.all(batch);
    }

    const bytesPerWaiter = ((await usedMemory(admin)) - memoryBefore) / (waiters * spread.length);
    console.log(
      `Redis memory per waiting user (INFO memory, used_memory over ${waiters * spread.length} waiters): ${bytesPerWaiter.toFixed(0)} bytes`,
    );
    for (let w = 0; w < workers; w++) {
      const child = fork(new URL(import.meta.url), ['--worker', ...args], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, BENCH_CLUSTER_URL: redisCluster.url, BENCH_WORKER: String(w) },
      });
      children.push(child);
      await new Promise((resolve) => child.once('message', resolve));
    }

    let nextId = waiters + 1;
    const results = new Map<
      string,
      Array<{ ops: number; wallMs: number; genCpuMs: number; redis: Map<number, number> }>
    >();
    const run = async (op: Op, tags: string[]) => {
      const before = await masterCpuMs(admin);
      const t0 = Date.now();
      const phase: Phase = { op, tags, firstNewId: nextId };
      const done = await Promise.all(
        children.map(
          (c) =>
            new Promise<Done>((resolve) => {
              c.once('message', (m) => resolve(m as Done));
              c.send(phase);
            }),
        ),
      );
      const wallMs = Date.now() - t0;
      const after = await masterCpuMs(admin);
      const ops = done.reduce((n, d) => n + d.ops, 0);
      if (op === 'zadd' || op === 'issue') nextId += (ops + 1) * workers;
      const redis = new Map([...after].map(([port, ms]) => [port, ms - (before.get(port) ?? 0)]));
      const key = `${op}:${tags.length}`;
      const list = results.get(key) ?? [];
      list.push({ ops, wallMs, genCpuMs: done.reduce((n, d) => n + d.cpuMs, 0), redis });
      results.set(key, list);
    };

    const order: Op[] = ['zadd', 'issue', 'zrank', 'poll', 'script'];
    for (const op of order) await run(op, single); // warm-up: JIT, script caches; not counted
    results.clear();
    for (let r = 0; r < rounds; r++)
      for (const tags of [single, spread]) for (const op of order) await run(op, tags);

    const summary = (op: Op, rooms: number) => {
      const list = results.get(`${op}:${rooms}`) ?? [];
      const ops = list.reduce((n, x) => n + x.ops, 0);
      const wallMs = list.reduce((n, x) => n + x.wallMs, 0);
      const redisMs = list.reduce((n, x) => n + [...x.redis.values()].reduce((a, b) => a + b, 0), 0);
      const busiest = Math.max(...list.map((x) => Math.max(...x.redis.values()) / x.wallMs));
      const gen = list.reduce((n, x) => n + x.genCpuMs, 0) / wallMs;
      return {
        perSecond: (ops / wallMs) * 1000,
        usPerOp: (redisMs * 1000) / ops,
        busiest,
        gen,
      };
    };
    const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
    console.log(`\n${'operation'.padEnd(38)} rooms    ops/s  Redis CPU/op  busiest master  load processes`);
    for (const rooms of [1, 3])
      for (const op of order) {
        const s = summary(op, rooms);
        console.log(
          `${OPS[op].padEnd(38)} ${String(rooms).padStart(5)}  ${s.perSecond.toFixed(0).padStart(7)}  ` +
            `${s.usPerOp.toFixed(1).padStart(9)} µs  ` +
            `${pct(s.busiest).padStart(14)}  ${pct(s.gen).padStart(14)}`,
        );
      }
    console.log(
      "  (Redis CPU/op: the masters' own CPU time (INFO cpu, network I/O included) over the operations done;\n" +
        '   busiest master and load processes: CPU time as a share of one core over the phase)',
    );
    const ratio = (a: Op, b: Op, rooms: number) => summary(a, rooms).perSecond / summary(b, rooms).perSecond;
    const cost = (a: Op, b: Op) => summary(a, 1).usPerOp / summary(b, 1).usPerOp;
    console.log('\nratios in this run, one room:');
    for (const [a, b] of [
      ['issue', 'zadd'],
      ['poll', 'zrank'],
      ['script', 'zrank'],
    ] as Array<[Op, Op]>)
      console.log(
        `  ${OPS[a]} / ${OPS[b]}: throughput ${pct(ratio(a, b, 1))}, Redis CPU per operation ${cost(a, b).toFixed(1)}x`,
      );
    console.log('three rooms on three masters / one room (throughput; same load processes):');
    for (const op of order)
      console.log(`  ${OPS[op]}: ${(summary(op, 3).perSecond / summary(op, 1).perSecond).toFixed(2)}x`);
    console.log('one sale on one shard whose master has a whole core (1 s / Redis CPU per operation):');
    for (const op of ['issue', 'poll', 'script'] as const)
      console.log(`  ${OPS[op]}: ${(1e6 / summary(op, 1).usPerOp).toFixed(0)} per second`);
    await measureDraw(admin, spread[0] as string);
    console.log(
      `load average before / after: ${loadBefore} / ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    for (const c of children) c.send('stop');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(0)))),
    );
    admin.disconnect();
    await redisCluster.stop();
  }
}

if (process.argv.includes('--worker'))
  await worker(process.env.BENCH_CLUSTER_URL ?? '', Number(process.env.BENCH_WORKER));
else await main();
