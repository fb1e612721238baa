import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { DomainError } from '../../src/domain/errors.ts';
import {
  type AdmitLimits,
  type QueueStore,
  type QueueStoreSettings,
  RETIRED_KEY_MEMORY_MS,
} from '../../src/domain/queue-store.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { connectRedis } from '../../src/queue/redis-connection.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { redisClusterFor } from '../support/redis-cluster.ts';
import { heartbeat, newAccessKey, T0 } from '../support/store-keys.ts';

const GRACE_MS = 30_000;
const settings: QueueStoreSettings = {
  activeTtlMs: 300_000,
  tokenGraceMs: GRACE_MS,
  activeIdleMs: 20_000,
  maxWaiting: 3,
};
const admitOne: AdmitLimits = { ratePerSecond: 1000, maxActive: 1, maxBurstMs: 60_000, governed: false };

const redisUp = await serverAvailable('redis');
const cluster = await redisClusterFor('waiting-room caps on a redis cluster');
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
  await cluster?.stop();
});

/** Seconds to milliseconds of a Redis key's time to live: -1 for none, -2 for no key. */
type Ttl = (accessKey: string) => Promise<number>;

interface Backend {
  name: string;
  skip: string | false;
  open(): Promise<{ store: QueueStore; ttl?: Ttl }>;
}

function redisBackend(name: string, url: string, skip: string | false): Backend {
  return {
    name,
    skip,
    open: async () => {
      const store = new RedisQueueStore({
        redis: url,
        settings,
        hashTag: `caps-${randomBytes(6).toString('hex')}`,
      });
      const client = connectRedis(url);
      closers.push(async () => {
        await store.destroy();
        await store.close();
        await client.quit();
      });
      return { store, ttl: (key) => client.pttl(`${store.prefix}key:${key}`) };
    },
  };
}

const backends: Backend[] = [
  { name: 'memory', skip: false, open: async () => ({ store: new MemoryQueueStore(settings) }) },
  redisBackend('redis', serverUrls.redis, redisUp ? false : `redis not reachable at ${serverUrls.redis}`),
  redisBackend(
    'redis cluster',
    cluster?.url ?? '',
    cluster ? false : 'redis-server or redis-cli not installed',
  ),
];

async function rejectsWith(p: Promise<unknown>, code: string): Promise<DomainError> {
  let caught: DomainError | undefined;
  await assert.rejects(p, (err: unknown) => {
    caught = err as DomainError;
    return err instanceof DomainError && err.code === code;
  });
  return caught as DomainError;
}

const issue = async (store: QueueStore, userId: number, now = T0) => {
  const key = newAccessKey();
  await store.issue(userId, key, now, heartbeat);
  return key;
};

for (const backend of backends)
  describe(`waiting-room caps: ${backend.name}`, { skip: backend.skip }, () => {
    test('the line holds at most maxWaiting: a newcomer is QUEUE_FULL, those in line keep their place', async () => {
      const { store } = await backend.open();
      for (const userId of [1, 2, 3]) await issue(store, userId);
      const full = await rejectsWith(issue(store, 4), 'QUEUE_FULL');
      assert.equal(full.details?.retryAfterSeconds, 30);
      assert.equal((await store.counts()).waiting, 3, 'the refused newcomer left no trace');
      const again = newAccessKey();
      assert.equal((await store.issue(2, again, T0 + 10, heartbeat)).position, 2, 'a waiter re-issues');
      // The first step only starts the rate budget.
      await store.admit(T0 + 999, admitOne);
      await store.admit(T0 + 1000, admitOne);
      assert.equal((await store.counts()).active, 1);
      assert.equal((await store.issue(4, newAccessKey(), T0 + 1000, heartbeat)).position, 3, 'room again');
      await rejectsWith(issue(store, 5, T0 + 1000), 'QUEUE_FULL');
    });

    test('a user has at most two live keys: the current one and the one it replaced, for the grace period', async () => {
      const { store } = await backend.open();
      const keys = [await issue(store, 7)];
      for (let i = 1; i <= 4; i++) keys.push(await issue(store, 7, T0 + i * 100));
      const live = async (now: number) => {
        const answers = await Promise.all(
          keys.map((k) =>
            store.status(k, now, heartbeat, 7).then(
              () => true,
              () => false,
            ),
          ),
        );
        return answers.flatMap((ok, i) => (ok ? [i] : []));
      };
      assert.deepEqual(await live(T0 + 500), [3, 4], 'older keys are revoked at once, within their grace');
      assert.deepEqual(await live(T0 + 400 + GRACE_MS), [4], 'the replaced key ends with its grace');
      await rejectsWith(store.status(keys[0] as string, T0 + 500, heartbeat, 7), 'TOKEN_EXPIRED');
    });

    test('a retired key is forgotten after the retired-key memory, so no key lives forever', async () => {
      const { store, ttl } = await backend.open();
      const first = await issue(store, 8);
      const second = await issue(store, 8, T0 + 10);
      const current = await issue(store, 8, T0 + 20);
      if (ttl) {
        // Redis forgets by itself: every retired key carries a time to live, only the current one has none.
        for (const retired of [first, second]) {
          const ms = await ttl(retired);
          assert.ok(ms > 0 && ms <= GRACE_MS + RETIRED_KEY_MEMORY_MS, `${retired}: ttl ${ms}`);
        }
        assert.equal(await ttl(current), -1);
        return;
      }
      const later = T0 + 20 + GRACE_MS + RETIRED_KEY_MEMORY_MS + 1;
      await store.admit(later, admitOne); // any state change forgets what is due
      await rejectsWith(store.status(first, later, heartbeat, 8), 'TOKEN_INVALID');
    });

    if (backend.name.startsWith('redis'))
      test('keys of users who leave, pay or lapse all expire in Redis', async () => {
        const { store, ttl } = await backend.open();
        if (!ttl) return;
        const paid = await issue(store, 11);
        const paidBefore = await issue(store, 11, T0 + 1);
        await store.admit(T0 + 999, admitOne);
        await store.admit(T0 + 1000, admitOne);
        assert.equal(await store.release(11, T0 + 2000), true);
        const left = await issue(store, 12, T0 + 2000);
        await store.leave(12, left, T0 + 2001);
        const idle = await issue(store, 13, T0 + 2000);
        // Never polls again: the next admission step long after its idle deadline evicts it.
        await store.admit(T0 + 10 * 60_000, { ...admitOne, maxActive: 0 });
        for (const [why, key] of Object.entries({ paid, paidBefore, left, idle })) {
          const ms = await ttl(key);
          assert.ok(ms > 0 && ms <= GRACE_MS + RETIRED_KEY_MEMORY_MS, `${why}: ttl ${ms}`);
        }
      });
  });
