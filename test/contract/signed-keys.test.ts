import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { AccessKeys } from '../../src/domain/access-key.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { DomainError } from '../../src/domain/errors.ts';
import type { QueueStore } from '../../src/domain/queue-store.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { redisClusterFor } from '../support/redis-cluster.ts';
import { roomSettings, storeSettings } from '../support/sale-fixtures.ts';

// The waiting room's signed access keys on every store: a forged key, or a key shown for another user, is turned
// away before the store; a genuine key of a user who left, was evicted, replaced it or was admitted gets the same
// answers as before, whichever process (waiting room on its own store handle) is asked.

const redisUp = await serverAvailable('redis');
const cluster = await redisClusterFor('signed access keys on a redis cluster');
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
  await cluster?.stop();
});

interface Backend {
  name: string;
  skip: string | false;
  /** Two handles on one fresh room (two processes; the memory store has one). */
  open(): { a: QueueStore; b: QueueStore };
}

function redisBackend(name: string, url: string, skip: string | false): Backend {
  return {
    name,
    skip,
    open: () => {
      const hashTag = `signed-${randomBytes(6).toString('hex')}`;
      const a = new RedisQueueStore({ redis: url, settings: storeSettings, hashTag });
      const b = new RedisQueueStore({ redis: url, settings: storeSettings, hashTag });
      closers.push(async () => {
        await a.destroy();
        await a.close();
        await b.close();
      });
      return { a, b };
    },
  };
}

const backends: Backend[] = [
  {
    name: 'memory',
    skip: false,
    open: () => {
      const store = new MemoryQueueStore(storeSettings);
      return { a: store, b: store };
    },
  },
  redisBackend('redis', serverUrls.redis, redisUp ? false : `redis not reachable at ${serverUrls.redis}`),
  redisBackend(
    'redis cluster',
    cluster?.url ?? '',
    cluster ? false : 'redis-server or redis-cli not installed',
  ),
];

/** Counts the store calls a room makes, to show what never reaches the store. */
function counted(store: QueueStore): { store: QueueStore; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, calls: () => calls };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof DomainError && err.code === code);
}

function rooms(backend: Backend) {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 12));
  const { a, b } = backend.open();
  const accessKeys = new AccessKeys();
  const seen = counted(b);
  return {
    clock,
    one: new WaitingRoom({ store: a, clock, settings: roomSettings, accessKeys }),
    two: new WaitingRoom({ store: seen.store, clock, settings: roomSettings, accessKeys }),
    storeCallsOfTwo: seen.calls,
    /** Another deployment: same store, its own secret. */
    stranger: new WaitingRoom({ store: a, clock, settings: roomSettings }),
  };
}

for (const backend of backends) {
  describe(`signed access keys: ${backend.name}`, { skip: backend.skip }, () => {
    test('forged, garbled, foreign-secret and other users’ keys are refused without the store', async () => {
      const { one, two, storeCallsOfTwo, stranger } = rooms(backend);
      const key = (await one.issueToken(1)).accessKey!;
      await one.issueToken(2);
      assert.equal((await two.poll(1, key)).position, 1, 'the other process knows the key');
      const calls = storeCallsOfTwo();
      const forged = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
      await rejectsWith(two.poll(1, forged), 'TOKEN_INVALID');
      await rejectsWith(two.poll(1, 'A'.repeat(22)), 'TOKEN_INVALID');
      await rejectsWith(two.authorizeAnyAdmitted(forged), 'TOKEN_INVALID');
      await rejectsWith(two.poll(2, key), 'TOKEN_NOT_YOURS');
      await rejectsWith(two.leave(2, key), 'TOKEN_NOT_YOURS');
      await rejectsWith(two.authorizeAdmitted(2, key), 'TOKEN_NOT_YOURS');
      assert.equal(storeCallsOfTwo(), calls, 'none of these reached the store');
      await rejectsWith(stranger.poll(1, key), 'TOKEN_INVALID');
    });

    test('a key whose holder left, was evicted or replaced it (after the grace) is expired', async () => {
      const { clock, one, two } = rooms(backend);
      const keys = new Map<number, string>();
      for (const userId of [1, 2, 3, 4]) keys.set(userId, (await one.issueToken(userId)).accessKey!);
      await two.leave(1, keys.get(1));
      await rejectsWith(two.poll(1, keys.get(1)), 'TOKEN_EXPIRED');
      assert.equal((await two.poll(2, keys.get(2))).position, 1, 'moved up at once');

      const renewed = (await two.issueToken(2)).accessKey!;
      clock.advance(roomSettings.tokenGraceSeconds * 1000 - 1);
      assert.equal((await one.poll(2, keys.get(2))).position, 1, 'the old key in its grace period');
      assert.equal((await one.poll(3, keys.get(3))).position, 2);
      clock.advance(1);
      await rejectsWith(one.poll(2, keys.get(2)), 'TOKEN_EXPIRED');
      assert.equal((await one.poll(2, renewed)).position, 1);

      // User 4 never polled: evicted at the first step after its idle deadline; its key stays dead.
      clock.advance(200_000);
      await one.tick();
      await rejectsWith(two.poll(4, keys.get(4)), 'TOKEN_EXPIRED');
      const back = (await two.issueToken(4)).accessKey!;
      await rejectsWith(one.poll(4, keys.get(4)), 'TOKEN_EXPIRED');
      assert.equal((await one.poll(4, back)).status, 'WAITING');
    });

    test('an admitted key polls ACTIVE and authorises on any process; its waiting-era answers end', async () => {
      const { clock, one, two } = rooms(backend);
      const first = (await one.issueToken(1)).accessKey!;
      const second = (await one.issueToken(2)).accessKey!;
      one.setMaxActive(1);
      await one.tick();
      clock.advance(100);
      await one.tick();
      const polled = await two.poll(1, first);
      assert.deepEqual([polled.status, polled.order], ['ACTIVE', 0]);
      await two.authorizeAdmitted(1, first);
      assert.equal(await two.authorizeAnyAdmitted(first), 1);
      assert.equal((await two.poll(2, second)).position, 1);
      await rejectsWith(two.authorizeAdmitted(2, second), 'NOT_ADMITTED');
    });
  });
}
