import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { LearnedSession } from '../../src/domain/learned-session.ts';
import { redisSessionLengths } from '../../src/queue/learned-session-store.ts';
import { needServer, serverUrls } from '../support/backends.ts';

// The session a sale measured outlives the process that measured it: on Redis, a process started later (or another
// process) takes it as its ETA prior; a Redis that is away leaves the configured prior and says so.

test('a session learned by one process is the next process’s prior; it expires in 30 days', async (t) => {
  if (!(await needServer(t, 'redis'))) return;
  const queueName = `learned-${randomBytes(6).toString('hex')}`;
  const first = redisSessionLengths(serverUrls.redis, queueName);
  const later = redisSessionLengths(serverUrls.redis, queueName);
  const redis = new Redis(serverUrls.redis);
  try {
    const measuring = new LearnedSession({ fallbackMs: 10_000, store: first });
    measuring.learn(7321.6, Date.now());
    // The write is fire-and-forget: wait until it landed.
    const name = `tr:{${queueName}}:learned-session-ms`;
    for (let i = 0; i < 50 && (await redis.get(name)) === null; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(await redis.get(name), '7322');
    const ttl = await redis.ttl(name);
    assert.ok(ttl > 29 * 86_400 && ttl <= 30 * 86_400, `ttl ${ttl}`);

    const starting = new LearnedSession({ fallbackMs: 10_000, store: later });
    assert.equal(starting.priorMs(), 10_000);
    await starting.load();
    assert.equal(starting.priorMs(), 7322);
    await redis.del(name);
  } finally {
    first.close();
    later.close();
    redis.disconnect();
  }
});

test('Redis away: the configured prior stays and the failure is reported', async () => {
  const away = redisSessionLengths('redis://127.0.0.1:1', 'away');
  const errors: unknown[] = [];
  const learned = new LearnedSession({ fallbackMs: 10_000, store: away, onError: (err) => errors.push(err) });
  try {
    await learned.load();
  } finally {
    away.close();
  }
  assert.equal(learned.priorMs(), 10_000);
  assert.equal(errors.length, 1);
});
