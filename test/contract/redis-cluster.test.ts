import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Cluster } from 'ioredis';
import { DomainError } from '../../src/domain/errors.ts';
import type { QueueEntry, QueueStoreSettings } from '../../src/domain/queue-store.ts';
import { connectRedis } from '../../src/queue/redis-connection.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { makeTestApp } from '../support/app.ts';
import { redisClusterFor } from '../support/redis-cluster.ts';
import { heartbeat, newAccessKey, T0 } from '../support/store-keys.ts';

// What only a real cluster shows: where each room lives, and that no script strays from its room's slot.
const cluster = await redisClusterFor('redis cluster placement');
after(() => cluster?.stop());

const settings: QueueStoreSettings = { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 20_000 };

/** The master port serving each slot, from CLUSTER SLOTS. */
async function slotOwners(client: Cluster): Promise<(slot: number) => number> {
  const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    assert.ok(range, `slot ${slot} is served`);
    return range[2][1];
  };
}

describe('waiting rooms on a redis cluster', { skip: cluster ? false : 'no redis cluster binaries' }, () => {
  const url = cluster?.url ?? '';
  const client = connectRedis(url) as Cluster;
  // Failures show in the assertions; the outage test would otherwise print each failed slot refresh.
  client.on('error', () => {});
  const stores: RedisQueueStore[] = [];
  after(async () => {
    for (const s of stores) {
      await s.destroy();
      await s.close();
    }
    await client.quit();
  });
  const open = (hashTag: string) => {
    const store = new RedisQueueStore({ redis: url, settings, hashTag });
    stores.push(store);
    return store;
  };

  test('sales with different hash tags spread over the masters; every key of one sale stays in its slot', async () => {
    const ownerOf = await slotOwners(client);
    const slotOf = async (key: string) => Number(await client.call('CLUSTER', 'KEYSLOT', key));
    // The first sale ids whose rooms fall on three different masters (16384 slots, 3 ranges).
    const byMaster = new Map<number, string>();
    for (let id = 1; byMaster.size < 3 && id < 100; id++) {
      const tag = `sale:${id}`;
      const master = ownerOf(await slotOf(`tr:{${tag}}:waiting`));
      if (!byMaster.has(master)) byMaster.set(master, tag);
    }
    assert.equal(byMaster.size, 3, 'three sales on three masters');

    for (const [master, tag] of byMaster) {
      const store = open(tag);
      const keys = new Map<number, string>();
      for (let userId = 1; userId <= 20; userId++) {
        const key = newAccessKey();
        keys.set(userId, key);
        await store.issue(userId, key, T0, heartbeat);
      }
      await store.admit(T0, { ratePerSecond: 1000, maxActive: 5, maxBurstMs: 60_000, governed: false });
      const admitted = await store.admit(T0 + 10, {
        ratePerSecond: 1000,
        maxActive: 5,
        maxBurstMs: 60_000,
        governed: false,
      });
      assert.equal(admitted.admitted, 5);
      assert.equal(await store.release(1, T0 + 20), true);
      assert.equal(await store.leave(20, keys.get(20) ?? '', T0 + 20), 'waiting');
      assert.equal((await store.status(keys.get(10) ?? '', T0 + 30, heartbeat, 10)).position, 5);

      // Look on every master: the room's keys exist only on the one serving its slot, all in one slot.
      const roomSlot = await slotOf(`tr:{${tag}}:waiting`);
      for (const node of client.nodes('master')) {
        const [, found] = await node.scan('0', 'MATCH', `${store.prefix}*`, 'COUNT', 10_000);
        if (node.options.port !== master) {
          assert.deepEqual(found, [], `no key of ${tag} on ${node.options.port}`);
          continue;
        }
        // waiting, idle, active, seq, stats, a record per user and an entry per access key.
        assert.ok(found.length > 20, `${tag}: ${found.length} keys on its master`);
        for (const key of found) assert.equal(await slotOf(key), roomSlot, key);
      }
    }
  });

  test('a script asked to touch keys outside its declared hash tag refuses instead of straying', async () => {
    const own = new RedisQueueStore({ redis: client, settings, hashTag: 'sale:1' });
    stores.push(own);
    await own.issue(1, newAccessKey(), T0, heartbeat);
    const release = (client as unknown as { queueRelease(...args: Array<string | number>): Promise<number> })
      .queueRelease;
    const call = (prefix: string) => release.call(client, `${own.prefix}active`, prefix, 1, 1000);
    assert.equal(await call(own.prefix), 0, 'its own prefix: user 1 is waiting, nothing to free');
    // sale:4 hashes to another slot; sale:1's keys without the closing brace would hash whole.
    for (const stray of ['tr:{sale:4}:', 'tr:{sale:1', 'tr:{}:'])
      await assert.rejects(call(stray), /hash tag/, stray);
    assert.throws(() => new RedisQueueStore({ redis: client, settings, hashTag: '' }), /hash tag/);
    assert.throws(() => new RedisQueueStore({ redis: client, settings, hashTag: 'a}b' }), /hash tag/);
  });

  test('the whole app on TR_QUEUE=redis-cluster://: line, poll, admission, shared token limits', async () => {
    const env = { TR_QUEUE: url, TR_QUEUE_NAME: 'sale-42', TR_TOKEN_RATE_PER_USER: '2' };
    const a = await makeTestApp('sqlite', env);
    const b = await makeTestApp('sqlite', env);
    try {
      const issue = (t: typeof a, userId: number) =>
        t.app.inject({ method: 'POST', url: `/api/users/${userId}/token`, remoteAddress: '203.0.113.9' });
      const first = await issue(a, 1);
      assert.equal(first.statusCode, 200, first.body);
      const second = await issue(b, 2);
      assert.equal(second.json().position, 2, 'two processes, one line');
      const poll = await b.app.inject({
        method: 'GET',
        url: '/api/users/1/token',
        headers: { authorization: first.json().accessKey },
      });
      assert.equal(poll.json().position, 1, poll.body);
      // The per-user budget is counted on the cluster too, so it holds across processes.
      assert.equal((await issue(b, 1)).statusCode, 200);
      const limited = await issue(a, 1);
      assert.equal(limited.statusCode, 429, limited.body);
      assert.equal(limited.json().error.code, 'RATE_LIMITED');
      const ready = await a.app.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(ready.statusCode, 200, ready.body);
      // Admitted through one process, seen as admitted by the other.
      const admitted = await a.admit(3);
      const seen = await b.app.inject({ method: 'GET', url: '/api/users/3/token', headers: admitted });
      assert.equal(seen.json().order, 0, seen.body);
    } finally {
      await Promise.all([a.close(), b.close()]);
      const room = new RedisQueueStore({ redis: client, settings, hashTag: 'sale-42' });
      await room.destroy();
    }
  });

  test('a master lost stops only the sales on it, with QUEUE_UNAVAILABLE; the others go on', async () => {
    const ownerOf = await slotOwners(client);
    const masterOf = async (tag: string) =>
      ownerOf(Number(await client.call('CLUSTER', 'KEYSLOT', `tr:{${tag}}:waiting`)));
    // Two sales of their own, on two different masters.
    const lost = 'sale:1001';
    let kept = 'sale:1002';
    for (let id = 1003; (await masterOf(kept)) === (await masterOf(lost)); id++) kept = `sale:${id}`;
    const onLost = open(lost);
    const onKept = open(kept);
    const lostKey = newAccessKey();
    const keptKey = newAccessKey();
    await onLost.issue(1, lostKey, T0, heartbeat);
    await onKept.issue(1, keptKey, T0, heartbeat);
    await cluster?.stopNodes([await masterOf(lost)]);
    try {
      for (const attempt of [1, 2, 3]) {
        await assert.rejects(
          onLost.status(lostKey, T0 + attempt, heartbeat, 1),
          (err: unknown) => err instanceof DomainError && err.code === 'QUEUE_UNAVAILABLE',
          `attempt ${attempt} on the lost master`,
        );
        assert.equal((await onKept.status(keptKey, T0 + attempt, heartbeat, 1)).position, 1);
        assert.equal((await onKept.issue(10 + attempt, newAccessKey(), T0, heartbeat)).position, 1 + attempt);
      }
    } finally {
      await cluster?.restart();
    }
  });

  // Last: it stops the whole cluster.
  test('with every master down a request fails at once (QUEUE_UNAVAILABLE), and works again once they are back', async () => {
    const store = open('sale:7');
    const key = newAccessKey();
    await store.issue(1, key, T0, heartbeat);
    await cluster?.stopNodes();
    try {
      // Twice: the second call is sent while ioredis is already reconnecting, which used to queue it forever.
      for (const attempt of [1, 2]) {
        const outcome = await Promise.race([
          store.issue(2, newAccessKey(), T0, heartbeat).then(
            () => 'answered',
            (err: unknown) => (err instanceof DomainError ? err.code : String(err)),
          ),
          new Promise<string>((resolve) =>
            setTimeout(() => resolve('still waiting after 5 s'), 5000).unref(),
          ),
        ]);
        assert.equal(outcome, 'QUEUE_UNAVAILABLE', `attempt ${attempt}`);
      }
    } finally {
      await cluster?.restart();
    }
    // The nodes kept no data (no persistence): the room starts empty, on the same client.
    let entry: QueueEntry | undefined;
    for (let i = 0; i < 50 && !entry; i++)
      entry = await store.issue(3, newAccessKey(), T0, heartbeat).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    assert.equal(entry?.position, 1);
  });
});
