import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { DomainError } from '../../src/domain/errors.ts';
import {
  ACTIVE_REFRESH_MS,
  type AdmitLimits,
  IDLE_SLACK_POLLS,
  type QueueStore,
  type QueueStoreSettings,
} from '../../src/domain/queue-store.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { redisClusterFor } from '../support/redis-cluster.ts';
import { heartbeat, newAccessKey, T0 } from '../support/store-keys.ts';

const settings: QueueStoreSettings = { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 20_000 };
/** 1000 a second: each elapsed millisecond is worth one admission. */
const perMs = (maxActive: number): AdmitLimits => ({
  ratePerSecond: 1000,
  maxActive,
  maxBurstMs: 60_000,
  governed: false,
});
/** An admitted user's key lapses this long after its last refresh write. */
const IDLE_LAPSE_MS = settings.activeIdleMs + ACTIVE_REFRESH_MS;

interface Backend {
  name: string;
  skip: string | false;
  /** A fresh, empty waiting room; `peer()` is a second handle on the same room (another process). */
  open(): Promise<{ store: QueueStore; peer(): QueueStore }>;
}

const redisUp = await serverAvailable('redis');
/** Three masters of the suite's own: the same contract, each room on the master of its hash tag's slot. */
const cluster = await redisClusterFor('queue contract on a redis cluster');
const opened: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of opened) await close();
  await cluster?.stop();
});

function redisBackend(name: string, url: string, skip: string | false): Backend {
  return {
    name,
    skip,
    open: async () => {
      const hashTag = `test-${randomBytes(6).toString('hex')}`;
      const make = () => new RedisQueueStore({ redis: url, settings, hashTag });
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
  };
}

const backends: Backend[] = [
  {
    name: 'memory',
    skip: false,
    open: async () => {
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

    test('release frees a slot at once; an admitted key lapses after its TTL however active', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 3);
      await store.admit(T0, perMs(1));
      await store.admit(T0 + 10, perMs(1));
      assert.equal(await store.release(2, T0 + 20), false, 'a waiting user holds no slot');
      assert.equal(await store.release(1, T0 + 20), true);
      await rejectsWith(store.status(keys.get(1)!, T0 + 20, heartbeat, 1), 'TOKEN_EXPIRED');
      assert.equal((await store.admit(T0 + 30, perMs(1))).admitted, 1);
      const two = keys.get(2)!;
      for (let t = 10_000; t < 300_000; t += 10_000)
        assert.equal((await store.status(two, T0 + 30 + t, heartbeat, 2)).state, 'active');
      assert.equal((await store.status(two, T0 + 30 + 299_999, heartbeat, 2)).state, 'active');
      await rejectsWith(store.status(two, T0 + 30 + 300_000, heartbeat, 2), 'TOKEN_EXPIRED');
      const outcome = await store.admit(T0 + 30 + 300_000, perMs(1));
      assert.deepEqual([outcome.expired, outcome.evicted, outcome.active], [1, 1, 0], 'user 3 never polled');
      assert.equal((await store.counts()).expiredTotal, 1);
      const again = await store.issue(2, newAccessKey(), T0 + 400_000, heartbeat);
      assert.deepEqual([again.state, again.position], ['waiting', 1], 'an expired user joins at the back');
    });

    test('an admitted user with no request for the idle time lapses; requests on any process push it back', async () => {
      const { store, peer } = await backend.open();
      const other = peer();
      const keys = await line(store, 4);
      await store.admit(T0, perMs(3));
      const a = T0 + 3;
      assert.equal((await store.admit(a, perMs(3))).active, 3);
      // User 1 keeps working, alternately through both handles (two processes); user 4 keeps its place.
      // User 2 never comes back; user 3 comes back once, just inside the idle time.
      for (let t = 5000; t <= 60_000; t += 5000) {
        if (t === 20_000) {
          const seen = await other.status(keys.get(3)!, a + settings.activeIdleMs - 1, heartbeat, 3);
          assert.equal(seen.state, 'active');
        }
        if (t === 25_000)
          await rejectsWith(other.status(keys.get(2)!, a + IDLE_LAPSE_MS, heartbeat, 2), 'TOKEN_EXPIRED');
        const handle = t % 10_000 === 0 ? other : store;
        assert.equal((await handle.status(keys.get(1)!, a + t, heartbeat, 1)).state, 'active', `at ${t}`);
        assert.equal((await handle.status(keys.get(4)!, a + t, heartbeat, 4)).position, 1);
      }
      const freed = await other.admit(a + 60_000, perMs(3));
      assert.deepEqual(
        [freed.expired, freed.admitted, freed.active],
        [2, 1, 2],
        'the idle slots went to user 4',
      );
      assert.equal((await store.status(keys.get(1)!, a + 60_000, heartbeat, 1)).state, 'active');
      await rejectsWith(store.status(keys.get(3)!, a + 60_000, heartbeat, 3), 'TOKEN_EXPIRED');
      // User 1 stops at 60 s: the slot lapses between the idle time and one refresh interval later.
      await rejectsWith(
        store.status(keys.get(1)!, a + 60_000 + IDLE_LAPSE_MS, heartbeat, 1),
        'TOKEN_EXPIRED',
      );
    });

    test('an active user’s idle deadline is written at most once per refresh interval', async () => {
      const { store, peer } = await backend.open();
      const keys = await line(store, 2);
      await store.admit(T0, perMs(2));
      await store.admit(T0 + 2, perMs(2));
      // Admitted at T0 + 2: a request 1 s later finds the stored deadline still ahead of now + idle.
      await peer().status(keys.get(1)!, T0 + 1002, heartbeat, 1);
      await rejectsWith(store.status(keys.get(1)!, T0 + 2 + IDLE_LAPSE_MS, heartbeat, 1), 'TOKEN_EXPIRED');
      // One refresh interval after admission, a request writes a new deadline.
      await peer().status(keys.get(2)!, T0 + 2 + ACTIVE_REFRESH_MS + 1, heartbeat, 2);
      const later = T0 + 2 + ACTIVE_REFRESH_MS + 1 + IDLE_LAPSE_MS - 1;
      assert.equal((await store.status(keys.get(2)!, later, heartbeat, 2)).state, 'active');
    });

    test('leaving frees the place or the slot at once; only the user’s own, live key may leave', async () => {
      const { store, peer } = await backend.open();
      const other = peer();
      const keys = await line(store, 4);
      await store.admit(T0, perMs(1));
      await store.admit(T0 + 1, perMs(1));
      await rejectsWith(other.leave(2, newAccessKey(), T0 + 2), 'TOKEN_INVALID');
      await rejectsWith(other.leave(2, keys.get(3)!, T0 + 2), 'TOKEN_NOT_YOURS');
      // A waiter leaves: everyone behind moves up, on every handle.
      assert.equal(await other.leave(3, keys.get(3)!, T0 + 2), 'waiting');
      assert.equal((await store.status(keys.get(4)!, T0 + 2, heartbeat, 4)).position, 2);
      await rejectsWith(store.status(keys.get(3)!, T0 + 2, heartbeat, 3), 'TOKEN_EXPIRED');
      // An admitted user leaves with the previous key (within its grace): the slot goes to the next in line.
      const renewed = newAccessKey();
      await store.issue(1, renewed, T0 + 3, heartbeat);
      assert.equal(await other.leave(1, keys.get(1)!, T0 + 4), 'active');
      await rejectsWith(store.status(renewed, T0 + 4, heartbeat, 1), 'TOKEN_EXPIRED');
      await rejectsWith(store.leave(1, renewed, T0 + 4), 'TOKEN_EXPIRED');
      const next = await store.admit(T0 + 5, perMs(1));
      assert.deepEqual([next.admitted, next.active, next.waiting], [1, 1, 1]);
      assert.equal((await other.status(keys.get(2)!, T0 + 5, heartbeat, 2)).state, 'active');
      const back = await store.issue(1, newAccessKey(), T0 + 6, heartbeat);
      assert.deepEqual([back.state, back.position], ['waiting', 2], 'issuing again joins at the back');
    });

    test('re-issuing for an admitted user renews its idle time; near the admission’s end it queues again', async () => {
      const { store, peer } = await backend.open();
      const other = peer();
      const keys = await line(store, 2);
      await store.admit(T0, perMs(2));
      await store.admit(T0 + 2, perMs(2));
      const a = T0 + 2;
      // Re-issue on the other process after 15 s of silence: the fresh key has a full idle time ahead.
      const fresh = newAccessKey();
      const renewed = await other.issue(1, fresh, a + 15_000, heartbeat);
      assert.deepEqual([renewed.state, renewed.activeUntil], ['active', a + 300_000], 'same admission');
      const quietUntil = a + 15_000 + settings.activeIdleMs - 1;
      assert.equal((await store.status(fresh, quietUntil, heartbeat, 1)).state, 'active');
      assert.equal((await store.status(keys.get(1)!, quietUntil, heartbeat, 1)).state, 'active', 'grace key');
      // User 2 stays active to 290 s; a key issued then would have 10 s left, less than the idle time.
      for (let t = 10_000; t <= 280_000; t += 10_000) await other.status(keys.get(2)!, a + t, heartbeat, 2);
      const late = newAccessKey();
      const queued = await store.issue(2, late, a + 285_000, heartbeat);
      assert.deepEqual([queued.state, queued.position], ['waiting', 1], 'a new turn, not a key about to die');
      assert.equal((await other.status(late, a + 285_000, heartbeat, 2)).state, 'waiting');
      const turn = await other.admit(a + 285_001, perMs(2));
      assert.equal(turn.admitted, 1);
      const entry = await store.status(late, a + 285_001, heartbeat, 2);
      assert.deepEqual([entry.state, entry.activeUntil], ['active', a + 285_001 + 300_000]);
    });

    test('the shared window and rate: compare-and-set across handles, used only when governed', async () => {
      const { store, peer } = await backend.open();
      const other = peer();
      assert.equal(await store.readControl(), undefined);
      const first = await store.writeControl(0, { window: 3, rate: 1000, cut: false }, T0);
      assert.deepEqual(first, {
        applied: true,
        control: { window: 3, rate: 1000, version: 1, changedAt: T0, cutAt: 0 },
      });
      const stale = await other.writeControl(0, { window: 50, rate: 5, cut: true }, T0 + 1);
      assert.equal(stale.applied, false, 'decided from an old version');
      assert.deepEqual(stale.control, first.control);
      const cut = await other.writeControl(1, { window: 2, rate: 0.5, cut: true }, T0 + 2);
      assert.deepEqual(cut.control, { window: 2, rate: 0.5, version: 2, changedAt: T0 + 2, cutAt: T0 + 2 });
      assert.deepEqual(await store.readControl(), cut.control);

      await line(store, 10);
      const governed = { ...perMs(8), governed: true };
      await store.admit(T0, governed);
      const slow = await other.admit(T0 + 4000, governed);
      assert.deepEqual([slow.admitted, slow.window, slow.rate], [2, 2, 0.5], 'the shared rate and window');
      await store.writeControl(2, { window: 50, rate: 1000, cut: false }, T0 + 4000);
      const capped = await store.admit(T0 + 8000, governed);
      assert.deepEqual([capped.active, capped.window], [8, 8], 'never beyond the configured cap');
      const ungoverned = await other.admit(T0 + 9000, perMs(9));
      assert.deepEqual([ungoverned.active, ungoverned.window, ungoverned.rate], [9, 9, 1000]);
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

    test('far-back waiters may poll less often: the idle limit is 3x their poll advice, plus 3 advices of slack', async () => {
      const { store } = await backend.open();
      const keys = await line(store, 2000);
      await store.admit(T0, perMs(0));
      // Place 2000 at 10 ms per place: advice 20 s, so 60 s (+60 s slack) may pass without a poll.
      await store.poll(2000, keys.get(2000)!, T0, heartbeat);
      await store.admit(T0 + 59_000, perMs(0));
      const survivor = await store.poll(2000, keys.get(2000)!, T0 + 59_000, heartbeat);
      assert.equal(survivor.state, 'waiting');
      // Limit max(30 s, 3 x 10 ms x place) + slack 3 x 10 ms x place: places 1..966 lapsed by 59 s, 967.. did not.
      assert.equal(IDLE_SLACK_POLLS, 3);
      assert.equal(survivor.position, 1034);
      // That poll found its stored deadline (T0 + 120 s) still ahead of its due one (T0 + 90 s): not rewritten.
      // Places 967..1999 never polled (deadlines up to T0 + 119.94 s); place 2000 outlasts them, then goes too.
      await store.admit(T0 + 119_999, perMs(0));
      assert.equal((await store.counts()).waiting, 1);
      await store.admit(T0 + 121_000, perMs(0));
      await rejectsWith(store.poll(2000, keys.get(2000)!, T0 + 121_000, heartbeat), 'TOKEN_EXPIRED');
    });

    test('a poll with the own key answers as status does: waiting, admitted, left, evicted, replaced', async () => {
      const { store, peer } = await backend.open();
      const other = peer();
      const keys = await line(store, 5);
      assert.deepEqual(await other.poll(2, keys.get(2)!, T0, heartbeat), {
        userId: 2,
        state: 'waiting',
        position: 2,
        activeUntil: 0,
      });
      await rejectsWith(other.poll(1, newAccessKey(), T0, heartbeat), 'TOKEN_INVALID');
      await rejectsWith(other.poll(1, keys.get(2)!, T0, heartbeat), 'TOKEN_NOT_YOURS');
      // Admitted: the poll says so, on any handle.
      await store.admit(T0, perMs(1));
      await store.admit(T0 + 1, perMs(1));
      assert.deepEqual(await other.poll(1, keys.get(1)!, T0 + 1, heartbeat), {
        userId: 1,
        state: 'active',
        position: 0,
        activeUntil: T0 + 1 + settings.activeTtlMs,
      });
      // Left: the key is dead and everyone behind moved up.
      await store.leave(2, keys.get(2)!, T0 + 2);
      await rejectsWith(other.poll(2, keys.get(2)!, T0 + 2, heartbeat), 'TOKEN_EXPIRED');
      assert.equal((await other.poll(3, keys.get(3)!, T0 + 2, heartbeat)).position, 1);
      // Replaced: the old key polls through its grace period, not after.
      const renewed = newAccessKey();
      await other.issue(3, renewed, T0 + 3, heartbeat);
      assert.equal((await store.poll(3, keys.get(3)!, T0 + 3 + 29_999, heartbeat)).position, 1);
      await rejectsWith(store.poll(3, keys.get(3)!, T0 + 3 + 30_000, heartbeat), 'TOKEN_EXPIRED');
      assert.equal((await store.poll(3, renewed, T0 + 3 + 30_000, heartbeat)).position, 1);
      // Evicted for idling (users 4 and 5 never polled), then back with a new key: the old one stays dead.
      await store.admit(T0 + 200_000, perMs(1));
      await rejectsWith(other.poll(4, keys.get(4)!, T0 + 200_000, heartbeat), 'TOKEN_EXPIRED');
      const back = newAccessKey();
      await store.issue(5, back, T0 + 200_001, heartbeat);
      await rejectsWith(other.poll(5, keys.get(5)!, T0 + 200_001, heartbeat), 'TOKEN_EXPIRED');
      assert.equal((await other.poll(5, back, T0 + 200_001, heartbeat)).position, 1);
    });

    test('polls sent at once each get their own answer, good keys or bad', async () => {
      const { store, peer } = await backend.open();
      const other = peer();
      const keys = await line(store, 40);
      const renewed = newAccessKey();
      await store.issue(7, renewed, T0 + 1, heartbeat);
      await store.leave(9, keys.get(9)!, T0 + 1);
      const later = T0 + 1 + settings.tokenGraceMs;
      const answers = await Promise.all(
        [...keys].map(([userId, key]) =>
          other.poll(userId === 5 ? 6 : userId, key, later, heartbeat).then(
            (entry) => entry.position,
            (err: DomainError) => err.code,
          ),
        ),
      );
      const expected = [...keys.keys()].map((userId) => {
        if (userId === 5) return 'TOKEN_NOT_YOURS';
        if (userId === 7) return 'TOKEN_EXPIRED';
        if (userId === 9) return 'TOKEN_EXPIRED';
        return userId < 9 ? userId : userId - 1;
      });
      assert.deepEqual(answers, expected);
      assert.equal((await other.poll(7, renewed, later, heartbeat)).position, 7);
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
