import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { HeartbeatPolicy, QueueStore, QueueStoreSettings } from '../../src/domain/queue-store.ts';
import { drawOrder } from '../../src/domain/sales/draw.ts';
import { type DrawRun, runDraw } from '../../src/domain/sales/draw-run.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { redisClusterFor } from '../support/redis-cluster.ts';
import { newAccessKey } from '../support/store-keys.ts';

const settings: QueueStoreSettings = { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 20_000 };
/** Waiters never idle out within a test. */
const heartbeat: HeartbeatPolicy = {
  msPerPosition: 10,
  minPollMs: 1000,
  maxPollMs: 20_000,
  idleFloorMs: 3_600_000,
  idleFactor: 3,
};
const T0 = Date.UTC(2026, 0, 1);
const LEASE_MS = 10_000;
const SEED = '5'.repeat(64);

const redisUp = await serverAvailable('redis');
const cluster = await redisClusterFor('draw slices on a redis cluster');
const opened: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of opened) await close();
  await cluster?.stop();
});

interface Backend {
  name: string;
  skip: string | false;
  /** A fresh room and a second handle on it (another process). */
  open(): { store: QueueStore; peer(): QueueStore };
}

function redisBackend(name: string, url: string, skip: string | false): Backend {
  return {
    name,
    skip,
    open: () => {
      const hashTag = `draw-${randomBytes(6).toString('hex')}`;
      const make = () => new RedisQueueStore({ redis: url, settings, hashTag });
      const store = make();
      const peers = [store];
      opened.push(async () => {
        await store.destroy();
        for (const p of peers) await p.close();
      });
      return {
        store,
        peer: () => {
          const p = make();
          peers.push(p);
          return p;
        },
      };
    },
  };
}

const backends: Backend[] = [
  {
    name: 'memory',
    skip: false,
    open: () => {
      const store = new MemoryQueueStore(settings);
      return { store, peer: () => store };
    },
  },
  redisBackend('redis', serverUrls.redis, redisUp ? false : `redis not reachable at ${serverUrls.redis}`),
  redisBackend(
    'redis cluster',
    cluster?.url ?? '',
    cluster ? false : 'redis-server or redis-cli not installed',
  ),
];

/**
 * A pre-queue of 60 (users 1..60, joined in that order), two of whom leave before the opening, and three who
 * arrive after the draw was claimed. Returns every waiter's key.
 */
async function prequeue(store: QueueStore): Promise<Map<number, string>> {
  const keys = new Map<number, string>();
  for (let userId = 1; userId <= 60; userId++) {
    keys.set(userId, newAccessKey());
    await store.issue(userId, keys.get(userId)!, T0, heartbeat, true);
  }
  for (const userId of [7, 30]) {
    await store.leave(userId, keys.get(userId)!, T0);
    keys.delete(userId);
  }
  return keys;
}

async function arriveLate(store: QueueStore, keys: Map<number, string>): Promise<void> {
  for (const userId of [61, 62, 63]) {
    keys.set(userId, newAccessKey());
    await store.issue(userId, keys.get(userId)!, T0 + 1, heartbeat, true);
  }
}

/** The line as fans see it: every waiter by position. */
async function lineOf(store: QueueStore, keys: Map<number, string>): Promise<number[]> {
  const line: number[] = [];
  for (const [userId, key] of keys) {
    const entry = await store.status(key, T0 + 2, heartbeat, userId);
    assert.equal(entry.state, 'waiting');
    line[entry.position - 1] = userId;
  }
  assert.equal(line.filter((u) => u !== undefined).length, keys.size, 'one place each');
  return line;
}

const entrants = Array.from({ length: 60 }, (_, k) => k + 1).filter((u) => u !== 7 && u !== 30);
/** The one-shot order: the drawn in the order the seed gives, then the late arrivals in arrival order. */
const expectedLine = [...drawOrder(SEED, entrants), 61, 62, 63];

/** A run with the order kept in a shared "database": the first record wins. */
function drawRun(
  store: QueueStore,
  db: { order?: number[] },
  holder: string,
  now: number,
  extra: Partial<DrawRun>,
) {
  return runDraw({
    store,
    seed: SEED,
    holder,
    leaseMs: LEASE_MS,
    now: () => now,
    recorded: async () => db.order,
    record: async (order) => {
      db.order ??= order;
      return db.order;
    },
    ...extra,
  });
}

for (const backend of backends)
  describe(`the draw applied in slices on the ${backend.name} store`, { skip: backend.skip }, () => {
    test('slices of 7 give the line one slice of all gives', async () => {
      for (const slice of [7, 1000]) {
        const { store } = backend.open();
        const keys = await prequeue(store);
        const run = drawRun(store, {}, 'a', T0 + 1, { slice });
        await arriveLate(store, keys);
        assert.equal(await run, 'applied');
        assert.deepEqual(await lineOf(store, keys), expectedLine, `slices of ${slice}`);
      }
    });

    test('a process that dies after 3 slices: another resumes after the lease, with the same final line', async () => {
      const { store, peer } = backend.open();
      const other = peer();
      const keys = await prequeue(store);
      const db: { order?: number[] } = {};
      assert.equal(await drawRun(store, db, 'a', T0 + 1, { slice: 7, stopAfterSlices: 3 }), 'stopped');
      await arriveLate(store, keys);
      // While the dead holder's lease runs, nobody else takes over and the draw is not applied.
      assert.equal(await drawRun(other, db, 'b', T0 + 2, { slice: 7 }), 'held-elsewhere');
      assert.deepEqual(await other.claimDraw('b', T0 + 2, LEASE_MS), { outcome: 'held-elsewhere' });
      const later = T0 + 1 + LEASE_MS;
      assert.deepEqual(await other.claimDraw('b', later, LEASE_MS), { outcome: 'claimed', placed: 21 });
      assert.equal(
        await drawRun(other, db, 'x', later + 1, { slice: 7 }),
        'held-elsewhere',
        'b holds it now',
      );
      // b claiming again renews its lease; then it dies, and c takes over when that lease ends, from place 21.
      assert.deepEqual(await other.claimDraw('b', later + 5, LEASE_MS), { outcome: 'claimed', placed: 21 });
      assert.equal(await drawRun(other, db, 'c', later + LEASE_MS, { slice: 5 }), 'held-elsewhere');
      assert.equal(await drawRun(other, db, 'c', later + 5 + LEASE_MS, { slice: 5 }), 'applied');
      assert.deepEqual(await lineOf(store, keys), expectedLine);
      // The first holder, back from the dead, can no longer touch the line.
      const stale = await store.applyDrawSlice('a', { from: 0, total: 58, users: [1, 2] }, later, LEASE_MS);
      assert.deepEqual(stale, { outcome: 'applied' });
      assert.deepEqual(await lineOf(store, keys), expectedLine);
    });

    test('the draw counts as applied only once its last slice is placed', async () => {
      const { store, peer } = backend.open();
      const other = peer();
      await prequeue(store);
      const db: { order?: number[] } = {};
      // Each process dies after one slice; the next takes over when its lease ends.
      for (let k = 0; ; k++) {
        const now = T0 + k * LEASE_MS;
        const outcome = await drawRun(store, db, `p${k}`, now, { slice: 7, stopAfterSlices: 1 });
        if (outcome === 'applied') {
          assert.equal(k, 8, '58 drawn in slices of 7 take 9 slices');
          break;
        }
        assert.equal(outcome, 'stopped');
        assert.equal(await other.drawApplied(), false, `not applied after ${k + 1} slices`);
        // Another process meanwhile finds the claim held and the draw not applied: it admits nobody.
        assert.equal((await other.claimDraw('x', now + 1, LEASE_MS)).outcome, 'held-elsewhere');
      }
      assert.equal(await other.drawApplied(), true);
    });

    test('a drawn user who leaves between slices is not added back; nobody is lost or placed twice', async () => {
      const { store } = backend.open();
      const keys = await prequeue(store);
      const db: { order?: number[] } = {};
      assert.equal(await drawRun(store, db, 'a', T0 + 1, { slice: 10, stopAfterSlices: 2 }), 'stopped');
      const order = db.order!;
      const gone = [order[3]!, order[40]!];
      for (const userId of gone) {
        await store.leave(userId, keys.get(userId)!, T0 + 1);
        keys.delete(userId);
      }
      assert.equal(await drawRun(store, db, 'b', T0 + 1 + LEASE_MS, { slice: 10 }), 'applied');
      assert.deepEqual(
        await lineOf(store, keys),
        order.filter((u) => !gone.includes(u)),
      );
    });
  });
