// The opening's draw at scale: N pre-queued entrants in one room on a Redis of the bench's own (so a one-shot
// baseline that blocks it stalls nobody else), drawn as the server draws (src/domain/sales/draw-run.ts: the
// entrants read and the order placed a slice at a time, the order computed in steps), against the one-shot
// baseline in the same run (every entrant read in one script, every entrant placed in one script).
// Prints per size: the entrants, the total time, the longest single Redis call (timed around each call, and as
// Redis's own SLOWLOG has it), and this process's longest event-loop delay while drawing.
// Usage: npm run bench:draw -- [entrants=100000,1000000]   (node --expose-gc, so the heap figure starts clean)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { QueueStore, QueueStoreSettings } from '../src/domain/queue-store.ts';
import { drawOrder } from '../src/domain/sales/draw.ts';
import { DRAW_SLICE, runDraw } from '../src/domain/sales/draw-run.ts';
import { RedisQueueStore } from '../src/queue/redis-store.ts';
import { binaries, redisKind, redisUrl } from '../test/support/private-backends.ts';
import { binariesInstalled, PrivateServer } from '../test/support/private-server.ts';

const sizes = (process.argv[2] ?? '100000,1000000').split(',').map(Number);
const settings: QueueStoreSettings = { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 15_000 };
const SEED = 'd'.repeat(64);
const LEASE_MS = 10_000;
/** Members per command while filling the room. */
const FILL_BATCH = 10_000;

/** The scripts before slicing, as one EVAL each: every entrant read at once, every entrant placed at once. */
const ONE_SHOT_READ = `local out = {}
for _, u in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('ZSCORE', KEYS[2], u) then out[#out + 1] = tonumber(u) end
end
return out`;
const ONE_SHOT_APPLY = `local n = #ARGV
for i, u in ipairs(ARGV) do redis.call('ZADD', KEYS[1], 'XX', i - n - 1, u) end
return 1`;

interface Timed {
  calls: number;
  longestMs: number;
  /** The longest call of each method. */
  by: Record<string, number>;
}

/** Times every call of the store's draw methods, from this process (network and queueing included). */
function timedStore(store: RedisQueueStore, t: Timed): QueueStore {
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const t0 = performance.now();
      const out = await fn(...a);
      const ms = performance.now() - t0;
      t.longestMs = Math.max(t.longestMs, ms);
      t.by[name] = Math.max(t.by[name] ?? 0, ms);
      t.calls++;
      return out;
    };
  return Object.assign(Object.create(store) as QueueStore, {
    claimDraw: wrap('claim', store.claimDraw.bind(store)),
    drawEntrants: wrap('entrants', store.drawEntrants.bind(store)),
    applyDrawSlice: wrap('place', store.applyDrawSlice.bind(store)),
  });
}

/** The longest command Redis logged since `afterId` (every command is logged: slowlog-log-slower-than 0). */
async function slowest(
  admin: Redis,
  afterId: number,
): Promise<{ ms: number; p99: number; command: string; lastId: number }> {
  const entries = (await admin.call('SLOWLOG', 'GET', '-1')) as Array<[number, number, number, string[]]>;
  let ms = 0;
  let command = '';
  for (const [id, , micros, args] of entries)
    if (id > afterId && micros / 1000 > ms) {
      ms = micros / 1000;
      command = String(args[0]);
    }
  const scripts = entries
    .filter(([id, , , args]) => id > afterId && args[0] === 'evalsha')
    .map(([, , us]) => us / 1000)
    .sort((a, b) => a - b);
  const p99 = scripts[Math.floor(scripts.length * 0.99)] ?? 0;
  return { ms, p99, command, lastId: entries[0]?.[0] ?? afterId };
}

async function fill(admin: Redis, prefix: string, n: number): Promise<void> {
  for (let from = 1; from <= n; from += FILL_BATCH) {
    const ids = Array.from({ length: Math.min(FILL_BATCH, n - from + 1) }, (_, k) => from + k);
    await admin.zadd(`${prefix}waiting`, ...ids.flatMap((id) => [id, id]));
    await admin.sadd(`${prefix}pre`, ...ids);
  }
  await admin.set(`${prefix}seq`, n);
}

async function measure(admin: Redis, url: string, n: number): Promise<void> {
  const store = new RedisQueueStore({ redis: url, settings, hashTag: `bench-draw-${n}` });
  const prefix = store.prefix;
  await store.destroy();
  await fill(admin, prefix, n);
  const keys = { waiting: `${prefix}waiting`, pre: `${prefix}pre`, stats: `${prefix}stats` };

  // Baseline: the one-shot scripts, on the same room.
  let t0 = performance.now();
  const entrants = (await admin.eval(ONE_SHOT_READ, 2, keys.pre, keys.waiting)) as number[];
  const oneRead = performance.now() - t0;
  const order = drawOrder(SEED, entrants).reverse();
  t0 = performance.now();
  await admin.eval(ONE_SHOT_APPLY, 1, keys.waiting, order as unknown as string);
  const oneApply = performance.now() - t0;
  await admin.del(keys.stats);

  // The server's way.
  const timed: Timed = { calls: 0, longestMs: 0, by: {} };
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const before = await slowest(admin, -1);
  (globalThis as { gc?: () => void }).gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let heapPeak = heap0;
  const sampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 20);
  loop.enable();
  t0 = performance.now();
  let recorded: number[] | undefined;
  const outcome = await runDraw({
    store: timedStore(store, timed),
    seed: SEED,
    holder: 'bench',
    leaseMs: LEASE_MS,
    now: Date.now,
    recorded: async () => recorded,
    record: async (o) => {
      recorded = o;
      return o;
    },
  });
  const total = performance.now() - t0;
  loop.disable();
  clearInterval(sampler);
  const logged = await slowest(admin, before.lastId);
  if (outcome !== 'applied') throw new Error(`draw ${outcome}`);
  const first = await admin.zrange(keys.waiting, 0, 2);
  if (first.join() !== drawOrder(SEED, entrants).slice(0, 3).join()) throw new Error('not the drawn order');

  console.log(`${n.toLocaleString('en')} entrants`);
  console.log(
    `  one-shot (baseline): read ${oneRead.toFixed(0)} ms + place ${oneApply.toFixed(0)} ms, each one script`,
  );
  console.log(
    `  sliced: ${total.toFixed(0)} ms in all, ${timed.calls} Redis calls (slices of ${DRAW_SLICE}); ` +
      `longest call ${timed.longestMs.toFixed(1)} ms timed here, ${logged.ms.toFixed(1)} ms in SLOWLOG (p99 ${logged.p99.toFixed(1)} ms) ` +
      `(${logged.command}; longest per call: ${Object.entries(timed.by)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(
          ', ',
        )} ms); event loop max delay ${(loop.max / 1e6).toFixed(1)} ms; peak heap +${((heapPeak - heap0) / 1e6).toFixed(0)} MB`,
  );
  console.log(
    `  longest Redis stall, one-shot / sliced: ${(Math.max(oneRead, oneApply) / logged.ms).toFixed(0)}x`,
  );
  await store.destroy();
  await store.close();
}

async function main(): Promise<void> {
  if (!binariesInstalled('bench:draw', [binaries.redisServer])) return;
  const redis = new PrivateServer(redisKind(false));
  await redis.start();
  const admin = new Redis(redisUrl(redis.port));
  try {
    await admin.config('SET', 'slowlog-log-slower-than', '0');
    await admin.config('SET', 'slowlog-max-len', '100000');
    console.log(`bench:draw on a private redis-server (:${redis.port}), seed fixed, ids 1..N`);
    for (const n of sizes) await measure(admin, redisUrl(redis.port), n);
  } finally {
    admin.disconnect();
    await redis.stop();
  }
}

await main();
