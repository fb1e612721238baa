import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { DomainError } from '../../src/domain/errors.ts';
import {
  type AdmitLimits,
  type HeartbeatPolicy,
  IDLE_SLACK_MS,
  newAccessKey,
  type QueueStore,
  type QueueStoreSettings,
} from '../../src/domain/queue-store.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';

const settings: QueueStoreSettings = { activeTtlMs: 300_000, tokenGraceMs: 30_000 };
const heartbeat: HeartbeatPolicy = {
  msPerPosition: 10,
  minPollMs: 1000,
  maxPollMs: 20_000,
  idleFloorMs: 30_000,
  idleFactor: 3,
};
const T0 = Date.UTC(2026, 0, 1);
/** 1000 a second: each elapsed millisecond is worth one admission. */
const perMs = (maxActive: number): AdmitLimits => ({ ratePerSecond: 1000, maxActive, maxBurstMs: 60_000 });

interface Backend {
  name: string;
  skip: string | false;
  /** A fresh, empty waiting room; `peer()` is a second handle on the same room (another process). */
  open(): Promise<{ store: QueueStore; peer(): QueueStore }>;
}

const redisUp = await serverAvailable('redis');
const opened: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of opened) await close();
});

const backends: Backend[] = [
  {
    name: 'memory',
    skip: false,
    open: async () => {
      const store = new MemoryQueueStore(settings);
      return { store, peer: () => store };
    },
  },
  {
    name: 'redis',
    skip: redisUp ? false : `redis not reachable at ${serverUrls.redis}`,
    open: async () => {
      const hashTag = `test-${randomBytes(6).toString('hex')}`;
      const make = () => new RedisQueueStore({ redis: serverUrls.redis, settings, hashTag });
      const store = make();
      const peers: RedisQueueStore[] = [store];
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
  },
];

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof DomainError && err.code === code);
}

/** Issues tokens for users 1..n in order; returns their keys. */
async function line(store: QueueStore, n: number, now = T0): Promise<Map<number, string>> {
  const keys = new Map<number, string>();
  for (let userId = 1; userId <= n; userId++) {
    const key = newAccessKey();
    await store.issue(userId, key, now, heartbeat);
    keys.set(userId, key);
  }
  return keys;
}

for (const backend of backends) {
  describe(`QueueStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    test('users wait in arrival order and see their 1-based place', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 5);
      for (const [userId, key] of keys) {
        const entry = await store.status(key, T0 + 10, heartbeat, userId);
        assert.deepEqual(entry, { userId, state: 'waiting', position: userId, activeUntil: 0 });
      }
      assert.equal((await store.counts()).waiting, 5);
    });

    test('issuing again keeps the place; the previous key works for the grace period only', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 3);
      const second = newAccessKey();
      const reissued = await store.issue(2, second, T0 + 1000, heartbeat);
      assert.equal(reissued.position, 2);
      assert.equal((await store.counts()).waiting, 3, 'no duplicate entry');
      assert.equal((await store.status(keys.get(2)!, T0 + 1000 + 29_999, heartbeat, 2)).position, 2);
      assert.equal((await store.status(second, T0 + 1000 + 29_999, heartbeat, 2)).position, 2);
      await rejectsWith(store.status(keys.get(2)!, T0 + 1000 + 30_000, heartbeat, 2), 'TOKEN_EXPIRED');
      assert.equal((await store.status(second, T0 + 1000 + 30_000, heartbeat, 2)).position, 2);
      const third = newAccessKey();
      await store.issue(2, third, T0 + 2000, heartbeat);
      await rejectsWith(store.status(keys.get(2)!, T0 + 2000, heartbeat, 2), 'TOKEN_EXPIRED');
      assert.equal((await store.status(second, T0 + 2000, heartbeat, 2)).position, 2);
    });

    test('an unknown key is TOKEN_INVALID, another user’s key is TOKEN_NOT_YOURS', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 2);
      await rejectsWith(store.status(newAccessKey(), T0, heartbeat, 1), 'TOKEN_INVALID');
      await rejectsWith(store.status(keys.get(2)!, T0, heartbeat, 1), 'TOKEN_NOT_YOURS');
      assert.equal(
        (await store.status(keys.get(2)!, T0, heartbeat)).userId,
        2,
        'any holder when no user named',
      );
    });

    test('admission follows arrival order, the rate budget and the active cap', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 10);
      assert.equal((await store.admit(T0, perMs(4))).admitted, 0, 'the first call only starts the budget');
      const first = await store.admit(T0 + 3, perMs(4));
      assert.deepEqual([first.admitted, first.waiting, first.active], [3, 7, 3]);
      const second = await store.admit(T0 + 100, perMs(4));
      assert.equal(second.admitted, 1, 'capped at 4 active');
      assert.equal(second.admittedTotal, 4);
      for (const userId of [1, 2, 3, 4]) {
        const entry = await store.status(keys.get(userId)!, T0 + 100, heartbeat, userId);
        assert.equal(entry.state, 'active');
        assert.equal(entry.position, 0);
        assert.equal(entry.activeUntil, userId <= 3 ? T0 + 3 + 300_000 : T0 + 100 + 300_000);
      }
      assert.equal((await store.status(keys.get(5)!, T0 + 100, heartbeat, 5)).position, 1);
      assert.equal((await store.status(keys.get(10)!, T0 + 100, heartbeat, 10)).position, 6);
      const stalled = await store.admit(T0 + 20_000, { ...perMs(100), maxBurstMs: 2 });
      assert.equal(stalled.admitted, 2, 'a stalled ticker cannot burst past maxBurstMs');
    });

    test('a waiter polled a moment ago sees its admission, its lost place and its moves at once', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 3);
      // Polls first, so a store that remembers recently checked keys has them all.
      for (const userId of [1, 2, 3]) await store.status(keys.get(userId)!, T0 + 1, heartbeat, userId);
      await store.admit(T0 + 1, perMs(1));
      await store.admit(T0 + 2, perMs(1));
      const admitted = await store.status(keys.get(1)!, T0 + 2, heartbeat, 1);
      assert.equal(admitted.state, 'active');
      assert.equal((await store.status(keys.get(2)!, T0 + 2, heartbeat, 2)).position, 1, 'moved up at once');
      await rejectsWith(store.status(keys.get(3)!, T0 + 2, heartbeat, 2), 'TOKEN_NOT_YOURS');
      const renewed = newAccessKey();
      await store.issue(3, renewed, T0 + 3, heartbeat);
      assert.equal(
        (await store.status(keys.get(3)!, T0 + 3, heartbeat, 3)).position,
        2,
        'old key: grace period',
      );
      assert.equal((await store.status(keys.get(3)!, T0 + 3 + 29_999, heartbeat, 3)).position, 2);
      // However recently the old key was polled, it ends with its grace period.
      await rejectsWith(store.status(keys.get(3)!, T0 + 3 + 30_001, heartbeat, 3), 'TOKEN_EXPIRED');
    });

    test('release frees a slot at once; an admitted key lapses after its TTL', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 3);
      await store.admit(T0, perMs(1));
      await store.admit(T0 + 10, perMs(1));
      assert.equal(await store.release(2, T0 + 20), false, 'a waiting user holds no slot');
      assert.equal(await store.release(1, T0 + 20), true);
      await rejectsWith(store.status(keys.get(1)!, T0 + 20, heartbeat, 1), 'TOKEN_EXPIRED');
      assert.equal((await store.admit(T0 + 30, perMs(1))).admitted, 1);
      const two = keys.get(2)!;
      assert.equal((await store.status(two, T0 + 30 + 299_999, heartbeat, 2)).state, 'active');
      await rejectsWith(store.status(two, T0 + 30 + 300_000, heartbeat, 2), 'TOKEN_EXPIRED');
      const outcome = await store.admit(T0 + 30 + 300_000, perMs(1));
      assert.deepEqual([outcome.expired, outcome.evicted, outcome.active], [1, 1, 0], 'user 3 never polled');
      assert.equal((await store.counts()).expiredTotal, 1);
      const again = await store.issue(2, newAccessKey(), T0 + 400_000, heartbeat);
      assert.deepEqual([again.state, again.position], ['waiting', 1], 'an expired user joins at the back');
    });

    test('a waiter who stops polling loses the place; one who keeps polling never does', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 3);
      await store.admit(T0, perMs(0));
      for (let t = 1000; t <= 120_000; t += 1000) {
        await store.status(keys.get(2)!, T0 + t, heartbeat, 2);
        await store.admit(T0 + t, perMs(0));
      }
      await rejectsWith(store.status(keys.get(1)!, T0 + 120_000, heartbeat, 1), 'TOKEN_EXPIRED');
      await rejectsWith(store.status(keys.get(3)!, T0 + 120_000, heartbeat, 3), 'TOKEN_EXPIRED');
      assert.equal((await store.status(keys.get(2)!, T0 + 120_000, heartbeat, 2)).position, 1);
      const counts = await store.counts();
      assert.deepEqual([counts.waiting, counts.evictedTotal], [1, 2]);
    });

    test('far-back waiters may poll less often: the idle limit is 3x their poll advice', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 2000);
      await store.admit(T0, perMs(0));
      // Place 2000 at 10 ms per place: advice 20 s, so 60 s (+15 s slack) may pass without a poll.
      await store.status(keys.get(2000)!, T0, heartbeat, 2000);
      await store.admit(T0 + 59_000, perMs(0));
      const survivor = await store.status(keys.get(2000)!, T0 + 59_000, heartbeat, 2000);
      assert.equal(survivor.state, 'waiting');
      // Limit max(30 s, 3 x 10 ms x place) + 15 s slack: places 1..1466 lapsed by 59 s, 1467..2000 did not.
      assert.equal(IDLE_SLACK_MS, 15_000);
      assert.equal(survivor.position, 534);
      await store.admit(T0 + 59_000 + 60_001, perMs(0));
      await rejectsWith(store.status(keys.get(2000)!, T0 + 119_001, heartbeat, 2000), 'TOKEN_EXPIRED');
    });

    test('thousands of interleaved operations from two handles leave a consistent line', async () => {
      const { store, peer } = await backend.open();
      const other = peer();
      const users = 3000;
      const maxActive = 700;
      const keys = new Map<number, string>();
      let now = T0;
      const outcomes: Array<{ active: number }> = [];
      let released = 0;
      const pollErrors: string[] = [];
      const ops: Array<Promise<unknown>> = [];
      // One user's operations go through one handle, as one client's requests reach one process in order.
      const handleOf = (id: number) => (id % 2 === 0 ? store : other);
      for (let i = 0; i < users; i++) {
        const userId = i + 1;
        const handle = handleOf(userId);
        const key = newAccessKey();
        keys.set(userId, key);
        ops.push(handle.issue(userId, key, now, heartbeat));
        if (i % 3 === 0) {
          const prev = 1 + ((i * 7919) % userId);
          const prevKey = keys.get(prev)!;
          ops.push(
            handleOf(prev)
              .status(prevKey, now, heartbeat, prev)
              .catch((err: DomainError) => pollErrors.push(err.code)),
          );
        }
        if (i % 5 === 0) {
          // Re-issue for an earlier user: must keep the place and not duplicate.
          const again = 1 + ((i * 104729) % userId);
          const key2 = newAccessKey();
          keys.set(again, key2);
          ops.push(handleOf(again).issue(again, key2, now, heartbeat));
        }
        if (i % 10 === 0) {
          now += 3;
          ops.push(handle.admit(now, perMs(maxActive)).then((o) => outcomes.push(o)));
        }
        if (i % 97 === 0) {
          const payer = 1 + ((i * 31) % userId);
          ops.push(
            handleOf(payer)
              .release(payer, now)
              .then((freed) => freed && released++),
          );
        }
      }
      await Promise.all(ops);
      for (const code of pollErrors) assert.equal(code, 'TOKEN_EXPIRED', 'a poll fails only after a release');
      // Drain: admit from both handles at once until the cap is reached.
      for (let round = 0; round < 20; round++) {
        now += 50;
        const both = await Promise.all([
          store.admit(now, perMs(maxActive)),
          other.admit(now, perMs(maxActive)),
        ]);
        outcomes.push(...both);
      }
      for (const o of outcomes) assert.ok(o.active <= maxActive, `active ${o.active} above ${maxActive}`);

      const waitingPositions: number[] = [];
      let active = 0;
      let gone = 0;
      const entries = await Promise.all(
        [...keys].map(([userId, key]) =>
          store.status(key, now, heartbeat, userId).catch((err: DomainError) => err.code),
        ),
      );
      for (const entry of entries) {
        if (typeof entry === 'string') {
          assert.equal(entry, 'TOKEN_EXPIRED', 'only released users lose their key');
          gone++;
        } else if (entry.state === 'active') {
          assert.equal(entry.position, 0);
          active++;
        } else waitingPositions.push(entry.position);
      }
      waitingPositions.sort((a, b) => a - b);
      assert.deepEqual(
        waitingPositions,
        Array.from({ length: waitingPositions.length }, (_, i) => i + 1),
        'waiting positions are exactly 1..N',
      );
      const counts = await store.counts();
      assert.equal(active, maxActive, 'the drain filled every slot');
      assert.equal(counts.active, active);
      assert.equal(counts.waiting, waitingPositions.length, 'nobody both waiting and active');
      assert.equal(active + waitingPositions.length + gone, users, 'nobody lost or duplicated');
      assert.equal(counts.admittedTotal, active + released, 'nobody admitted twice');
      assert.ok(gone <= released);
    });
  });
}
