import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import {
  ACTIVE_REFRESH_MS,
  type AdmissionControl,
  type AdmitLimits,
  type AdmitOutcome,
  type ControlValues,
  type ControlWrite,
  type DrawClaim,
  type DrawProgress,
  type DrawSlice,
  type EntrantSlice,
  type HeartbeatPolicy,
  IDLE_SLACK_POLLS,
  type QueueCounts,
  type QueueEntry,
  type QueueState,
  type QueueStore,
  type QueueStoreSettings,
  RETIRED_KEY_MEMORY_MS,
  type SaleControl,
} from '../domain/queue-store.ts';
import { connectRedis, type RedisClient } from './redis-connection.ts';
import { queueUnavailableIfDown } from './redis-errors.ts';
import { storeError } from './store-errors.ts';

type Reply = number | Reply[];

/** The scripts, loaded once with defineCommand; the file name says the verb and the number of keys. */
interface QueueCommands {
  queueIssue(...args: Array<string | number>): Promise<Reply>;
  queueStatus(...args: Array<string | number>): Promise<Reply>;
  queuePoll(...args: Array<string | number>): Promise<number[]>;
  queueAdmit(...args: Array<string | number>): Promise<Reply>;
  queueRelease(...args: Array<string | number>): Promise<Reply>;
  queueLeave(...args: Array<string | number>): Promise<Reply>;
  queueControl(...args: Array<string | number>): Promise<string[]>;
  queueClaimDraw(...args: Array<string | number>): Promise<number[]>;
  queueDrawEntrants(...args: Array<string | number>): Promise<Array<string | number>>;
  queueApplyDraw(...args: Array<string | number>): Promise<number[]>;
}

const scripts: Array<[name: keyof QueueCommands, file: string, numberOfKeys: number]> = [
  ['queueIssue', 'issue-6.lua', 6],
  ['queueStatus', 'status-3.lua', 3],
  ['queuePoll', 'poll-batch.lua', 0],
  ['queueAdmit', 'admit-4.lua', 4],
  ['queueRelease', 'release-1.lua', 1],
  ['queueLeave', 'leave-3.lua', 3],
  ['queueControl', 'control-1.lua', 1],
  ['queueClaimDraw', 'claim-draw-2.lua', 2],
  ['queueDrawEntrants', 'draw-entrants-3.lua', 3],
  ['queueApplyDraw', 'apply-draw-2.lua', 2],
];

const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

/** A line `-- include: lib/<file>.lua` in a script: replaced by that file's text (see loadScript). */
const INCLUDE = /^-- include: (\S+)[ \t]*$/gm;

/**
 * A script's text as Redis runs it. Code several scripts share (local functions) lives in scripts/lib/, and each
 * `-- include: <path>` line (path relative to scripts/) is replaced by that file's text, so Redis gets one
 * self-contained script. Includes do not nest. Redis's line numbers in errors (user_script:N) count the spliced
 * text. Throws, naming the script, when an included file cannot be read.
 */
export function loadScript(file: string, dir: URL = SCRIPTS_DIR): string {
  const text = readFileSync(new URL(file, dir), 'utf8');
  return text.replace(INCLUDE, (_line, include: string) => {
    let included: string;
    try {
      included = readFileSync(new URL(include, dir), 'utf8');
    } catch (err) {
      throw new Error(`Lua script ${file}: cannot read its include ${include}`, { cause: err });
    }
    if (/^--\s*include:/m.test(included))
      throw new Error(
        `Lua script ${file}: its include ${include} includes another file (includes do not nest)`,
      );
    return included.trimEnd();
  });
}

const SALE_CONTROL_FIELDS = [
  'admitPerSecond',
  'maxActive',
  'minWindow',
  'maxWindow',
  'overbook',
  'paused',
  'closed',
] as const;

const CONTROL_FIELDS = ['ctlWindow', 'ctlRate', 'ctlVersion', 'ctlChangedAt', 'ctlCutAt'] as const;

/** Most polls in one poll-batch call: a few milliseconds of Redis at most. */
const POLL_BATCH = 256;

/**
 * Polls of one turn of the event loop with the same heartbeat, waiting to be sent. `now` is the latest clock
 * reading among them: a turn spans milliseconds, and cutting the batch at each one had halved the batches of a
 * busy process (a million waiters: 5.6 polls a call instead of 11); an idle deadline a millisecond or two later
 * than its own poll's is the only difference it makes.
 */
interface PollBatch {
  now: number;
  heartbeat: number[];
  polls: Array<{
    userId: number;
    accessKey: string;
    resolve: (position: number) => void;
    reject: (err: unknown) => void;
  }>;
}

/** Most users one admission call expires, evicts or admits, so one script never blocks Redis for long. */
const ADMIT_BATCH = 5000;

/** Pre-queue members one draw-entrants call scans (SSCAN's COUNT hint), so one call stays a few ms. */
const DRAW_SCAN_COUNT = 1000;

export interface RedisQueueStoreOptions {
  /** A redis:// or redis-cluster:// URL, or a client this store may use (and will not close). */
  redis: string | RedisClient;
  settings: QueueStoreSettings;
  /**
   * Hash tag shared by every key of one waiting room: on Redis Cluster the room lives in one slot (scripts touch
   * only that slot), and rooms with different tags spread over the masters.
   */
  hashTag?: string;
}

/** The waiting room on Redis: one Lua script per state change, so any number of processes may share it. */
export class RedisQueueStore implements QueueStore {
  readonly prefix: string;
  readonly #redis: RedisClient & QueueCommands;
  readonly #ownsClient: boolean;
  readonly #settings: QueueStoreSettings;
  #pollBatch: PollBatch | undefined;
  readonly #keys: {
    waiting: string;
    idle: string;
    active: string;
    seq: string;
    gone: string;
    stats: string;
    pre: string;
    sale: string;
  };

  constructor(options: RedisQueueStoreOptions) {
    this.#ownsClient = typeof options.redis === 'string';
    const redis = typeof options.redis === 'string' ? connectRedis(options.redis) : options.redis;
    // Connection errors surface where they matter (a failed request, /health/ready), not as ioredis's
    // "Unhandled error event" lines on stderr once per reconnect attempt.
    if (this.#ownsClient) redis.on('error', () => {});
    for (const [name, file, numberOfKeys] of scripts) {
      if (typeof (redis as Partial<QueueCommands>)[name] === 'function') continue;
      const lua = loadScript(file);
      // 0: the number of keys varies, and is the call's first argument.
      redis.defineCommand(name, numberOfKeys === 0 ? { lua } : { lua, numberOfKeys });
    }
    this.#redis = redis as RedisClient & QueueCommands;
    this.#settings = options.settings;
    this.prefix = `tr:{${hashTagOf(options.hashTag ?? 'q')}}:`;
    this.#keys = {
      waiting: `${this.prefix}waiting`,
      idle: `${this.prefix}idle`,
      active: `${this.prefix}active`,
      seq: `${this.prefix}seq`,
      stats: `${this.prefix}stats`,
      gone: `${this.prefix}gone`,
      pre: `${this.prefix}pre`,
      sale: `${this.prefix}sale`,
    };
  }

  async issue(
    userId: number,
    accessKey: string,
    now: number,
    heartbeat: HeartbeatPolicy,
    prequeue = false,
  ): Promise<QueueEntry> {
    const k = this.#keys;
    const reply = await this.#redis
      .queueIssue(
        k.waiting,
        k.idle,
        k.active,
        k.seq,
        k.stats,
        k.pre,
        this.prefix,
        userId,
        accessKey,
        now,
        this.#settings.tokenGraceMs,
        RETIRED_KEY_MEMORY_MS,
        ...heartbeatArgs(heartbeat),
        IDLE_SLACK_POLLS,
        this.#settings.activeIdleMs,
        ACTIVE_REFRESH_MS,
        this.#settings.maxWaiting ?? 0,
        prequeue ? 1 : 0,
      )
      .catch(failClosed);
    return entryOf(reply);
  }

  /**
   * One round trip, an O(1) record read and the place worked out from the waiter's arrival sequence (no walk of
   * the line: scripts/lib/place.lua) per poll, whatever process answers: the polls this
   * process receives in one turn of its event loop go to Redis as one poll-batch script call, which answers each
   * waiter polling with its current key and rewrites an idle deadline only when due (about one poll in
   * IDLE_SLACK_POLLS + 1). Anything else (admitted, grace-period key, gone, unknown) takes the status script.
   */
  async poll(
    userId: number,
    accessKey: string,
    now: number,
    heartbeat: HeartbeatPolicy,
  ): Promise<QueueEntry> {
    const position = await this.#batchedPoll(userId, accessKey, now, heartbeatArgs(heartbeat));
    if (position > 0) return { userId, state: 'waiting', position, activeUntil: 0 };
    return this.status(accessKey, now, heartbeat, userId);
  }

  #batchedPoll(userId: number, accessKey: string, now: number, heartbeat: number[]): Promise<number> {
    let batch = this.#pollBatch;
    if (batch?.heartbeat.some((v, i) => v !== heartbeat[i])) {
      this.#sendPolls(batch);
      batch = undefined;
    }
    if (batch && now > batch.now) batch.now = now;
    if (!batch) {
      const started: PollBatch = { now, heartbeat, polls: [] };
      this.#pollBatch = batch = started;
      setImmediate(() => this.#sendPolls(started));
    }
    const polls = batch.polls;
    const answer = new Promise<number>((resolve, reject) =>
      polls.push({ userId, accessKey, resolve, reject }),
    );
    if (polls.length === POLL_BATCH) this.#sendPolls(batch);
    return answer;
  }

  #sendPolls(batch: PollBatch): void {
    if (this.#pollBatch !== batch) return;
    this.#pollBatch = undefined;
    const k = this.#keys;
    const { polls } = batch;
    const args: Array<string | number> = [4 + polls.length, k.waiting, k.idle, k.stats, k.gone];
    for (const p of polls) args.push(`${this.prefix}user:${p.userId}`);
    args.push(batch.now, ...batch.heartbeat, IDLE_SLACK_POLLS);
    for (const p of polls) args.push(p.userId, p.accessKey);
    this.#redis.queuePoll(...args).then(
      (positions) => {
        for (let i = 0; i < polls.length; i++) polls[i].resolve(positions[i]);
      },
      (err: unknown) => {
        const failure = queueUnavailableIfDown(err);
        for (const p of polls) p.reject(failure);
      },
    );
  }

  async status(
    accessKey: string,
    now: number,
    heartbeat: HeartbeatPolicy,
    userId?: number,
  ): Promise<QueueEntry> {
    const k = this.#keys;
    const reply = await this.#redis
      .queueStatus(
        k.waiting,
        k.idle,
        k.active,
        this.prefix,
        accessKey,
        now,
        userId === undefined ? '' : userId,
        ...heartbeatArgs(heartbeat),
        IDLE_SLACK_POLLS,
        this.#settings.activeIdleMs,
        ACTIVE_REFRESH_MS,
      )
      .catch(failClosed);
    return entryOf(reply);
  }

  async admit(now: number, limits: AdmitLimits): Promise<AdmitOutcome> {
    const k = this.#keys;
    const reply = await this.#redis
      .queueAdmit(
        k.waiting,
        k.idle,
        k.active,
        k.stats,
        this.prefix,
        now,
        limits.ratePerSecond,
        limits.maxActive,
        limits.maxBurstMs,
        this.#settings.activeTtlMs,
        RETIRED_KEY_MEMORY_MS,
        ADMIT_BATCH,
        limits.governed ? 1 : 0,
        this.#settings.activeIdleMs,
        ACTIVE_REFRESH_MS,
      )
      .catch(failClosed);
    const [admitted, evicted, expired, waiting, active, admittedTotal, window, rate] = reply as number[];
    return { admitted, evicted, expired, waiting, active, admittedTotal, window, rate: Number(rate) };
  }

  async leave(userId: number, accessKey: string, now: number): Promise<QueueState> {
    const k = this.#keys;
    const reply = await this.#redis
      .queueLeave(k.waiting, k.idle, k.active, this.prefix, userId, accessKey, now, RETIRED_KEY_MEMORY_MS)
      .catch(failClosed);
    if (typeof reply !== 'number' || reply < 0) throw storeError(reply as number);
    return reply === 2 ? 'active' : 'waiting';
  }

  async readControl(): Promise<AdmissionControl | undefined> {
    const fields = await this.#redis.hmget(this.#keys.stats, ...CONTROL_FIELDS).catch(failClosed);
    return fields[2] === null ? undefined : controlOf(fields);
  }

  async writeControl(version: number, next: ControlValues, now: number): Promise<ControlWrite> {
    const [applied, ...fields] = await this.#redis
      .queueControl(this.#keys.stats, version, next.window, next.rate, now, next.cut ? 1 : 0)
      .catch(failClosed);
    return { applied: applied === '1', control: controlOf(fields) };
  }

  async release(userId: number, _now: number): Promise<boolean> {
    const reply = await this.#redis
      .queueRelease(this.#keys.active, this.prefix, userId, RETIRED_KEY_MEMORY_MS)
      .catch(failClosed);
    return reply === 1;
  }

  async counts(): Promise<QueueCounts> {
    const k = this.#keys;
    const [waiting, active, totals] = await Promise.all([
      this.#redis.zcard(k.waiting),
      this.#redis.zcard(k.active),
      this.#redis.hmget(k.stats, 'admittedTotal', 'evictedTotal', 'expiredTotal'),
    ]).catch(failClosed);
    return {
      waiting,
      active,
      admittedTotal: Number(totals[0] ?? 0),
      evictedTotal: Number(totals[1] ?? 0),
      expiredTotal: Number(totals[2] ?? 0),
    };
  }

  async readSaleControl(): Promise<SaleControl | undefined> {
    const f = await this.#redis.hmget(this.#keys.sale, ...SALE_CONTROL_FIELDS).catch(failClosed);
    if (f.some((v) => v === null)) return undefined;
    const [admitPerSecond, maxActive, minWindow, maxWindow, overbook] = f.slice(0, 5).map(Number);
    return {
      admitPerSecond,
      maxActive,
      minWindow,
      maxWindow,
      overbook,
      paused: f[5] === '1',
      closed: f[6] === '1',
    };
  }

  async writeSaleControl(c: SaleControl): Promise<void> {
    await this.#redis
      .hset(this.#keys.sale, {
        admitPerSecond: c.admitPerSecond,
        maxActive: c.maxActive,
        minWindow: c.minWindow,
        maxWindow: c.maxWindow,
        overbook: c.overbook,
        paused: c.paused ? 1 : 0,
        closed: c.closed ? 1 : 0,
      })
      .catch(failClosed);
  }

  async claimDraw(holder: string, now: number, leaseMs: number): Promise<DrawClaim> {
    const [outcome, placed] = await this.#redis
      .queueClaimDraw(this.#keys.stats, this.#keys.seq, holder, now, leaseMs)
      .catch(failClosed);
    if (outcome === 2) return { outcome: 'applied' };
    if (outcome === 0) return { outcome: 'held-elsewhere' };
    return { outcome: 'claimed', placed: placed ?? 0 };
  }

  async drawEntrants(
    holder: string,
    cursor: string,
    now: number,
    leaseMs: number,
  ): Promise<EntrantSlice | undefined> {
    const k = this.#keys;
    const [next, ...entrants] = await this.#redis
      .queueDrawEntrants(k.stats, k.pre, k.waiting, holder, now, leaseMs, cursor, DRAW_SCAN_COUNT)
      .catch(failClosed);
    return next === -1 ? undefined : { cursor: String(next), entrants: entrants as number[] };
  }

  async applyDrawSlice(
    holder: string,
    slice: DrawSlice,
    now: number,
    leaseMs: number,
  ): Promise<DrawProgress> {
    const [outcome, placed] = await this.#redis
      .queueApplyDraw(
        this.#keys.waiting,
        this.#keys.stats,
        holder,
        now,
        leaseMs,
        slice.from,
        slice.total,
        ...slice.users,
      )
      .catch(failClosed);
    if (outcome === 2) return { outcome: 'applied' };
    if (outcome === -1) return { outcome: 'lost' };
    return { outcome: 'placed', placed: placed ?? 0 };
  }

  async drawApplied(): Promise<boolean> {
    return (await this.#redis.hget(this.#keys.stats, 'drawState').catch(failClosed)) === 'applied';
  }

  async prequeued(): Promise<number> {
    return this.#redis.scard(this.#keys.pre).catch(failClosed);
  }

  /** Deletes every key of this waiting room; for tests and benchmarks. */
  async destroy(): Promise<void> {
    // SCAN walks one server: on a cluster, every master (the room's keys all sit on the one holding its slot).
    const servers = this.#redis instanceof Cluster ? this.#redis.nodes('master') : [this.#redis];
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, found] = await server.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
        if (found.length > 0) await this.#redis.unlink(...found);
        cursor = next;
      } while (cursor !== '0');
    }
  }

  /** A read of this room's own key: on a cluster it reaches the master that holds the room, not any node. */
  async ping(): Promise<void> {
    await this.#redis.exists(this.#keys.seq);
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

/**
 * Redis hashes only the text between the first `{` and the next `}`: a tag with a brace would cut it short, and an
 * empty one would hash each whole key, scattering one room over the cluster.
 */
function hashTagOf(tag: string): string {
  if (tag === '' || /[{}]/.test(tag))
    throw new Error(`queue hash tag ${JSON.stringify(tag)}: no braces, not empty`);
  return tag;
}

/** Every command's failure passes here: Redis away is a 503 QUEUE_UNAVAILABLE, so admission fails closed. */
const failClosed = (err: unknown): never => {
  throw queueUnavailableIfDown(err);
};

const heartbeatArgs = (h: HeartbeatPolicy): number[] => [
  h.msPerPosition,
  h.minPollMs,
  h.maxPollMs,
  h.idleFloorMs,
  h.idleFactor,
];

function controlOf(fields: Array<string | null>): AdmissionControl {
  const [window, rate, version, changedAt, cutAt] = fields.map((f) => Number(f ?? 0));
  return { window, rate, version, changedAt, cutAt };
}

function entryOf(reply: Reply): QueueEntry {
  if (typeof reply === 'number') throw storeError(reply);
  const [userId, state, position, activeUntil] = reply as number[];
  return { userId, state: state === 2 ? 'active' : 'waiting', position, activeUntil };
}
