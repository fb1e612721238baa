import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { needServer, serverUrls } from '../support/backends.ts';
import { heartbeat, newAccessKey, T0 } from '../support/store-keys.ts';

test('redis: the polls of one turn go to Redis as one call, even when the clock moved between them', async (t) => {
  if (!(await needServer(t, 'redis'))) return;
  const redis = new Redis(serverUrls.redis);
  const store = new RedisQueueStore({
    redis,
    settings: { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 20_000 },
    hashTag: `test-${randomBytes(6).toString('hex')}`,
  });
  try {
    const keys: string[] = [];
    for (let userId = 1; userId <= 30; userId++) {
      keys.push(newAccessKey());
      await store.issue(userId, keys[userId - 1], T0, heartbeat);
    }
    let calls = 0;
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, ...rest) => {
      if (command.name === 'evalsha' || command.name === 'eval') calls++;
      return send(command, ...rest);
    };
    // A busy process reads the clock anew for each request of one turn: a millisecond apart here.
    const positions = await Promise.all(
      keys.map(async (key, i) => (await store.poll(i + 1, key, T0 + 1000 + i, heartbeat)).position),
    );
    assert.deepEqual(
      positions,
      keys.map((_, i) => i + 1),
    );
    assert.equal(calls, 1, 'one poll-batch call for the turn');
  } finally {
    await store.destroy();
    redis.disconnect();
  }
});
