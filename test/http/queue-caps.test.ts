import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { makeTestApp } from '../support/app.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { dropQueueKeys } from '../support/redis-keys.ts';

const redisUp = await serverAvailable('redis');

for (const [store, env] of [
  ['memory', {}],
  ['redis', { TR_QUEUE: serverUrls.redis, TR_QUEUE_NAME: `caps-${randomBytes(6).toString('hex')}` }],
] as const)
  describe(`a full line over HTTP (${store} store)`, {
    skip: store === 'redis' && !redisUp && 'redis not reachable',
  }, () => {
    test('a newcomer beyond TR_MAX_WAITING gets 503 QUEUE_FULL with Retry-After; those in line keep going', async () => {
      // Nobody is admitted meanwhile: the line only fills.
      const t = await makeTestApp('sqlite', { ...env, TR_MAX_WAITING: '2', TR_MAX_ACTIVE: '1' });
      try {
        await t.composition.services.waitingRoom.issueToken(50); // the one active slot
        await t.composition.services.waitingRoom.tick();
        t.clock.advance(10);
        await t.composition.services.waitingRoom.tick();
        const token = (userId: number) => t.app.inject({ method: 'POST', url: `/api/users/${userId}/token` });
        assert.equal((await token(1)).statusCode, 200);
        const second = await token(2);
        assert.equal(second.statusCode, 200);
        const refused = await token(3);
        assert.equal(refused.statusCode, 503, refused.body);
        assert.equal(refused.json().error.code, 'QUEUE_FULL');
        assert.equal(refused.headers['retry-after'], '30');
        const again = await token(2);
        assert.equal(again.statusCode, 200, 'a user in line may re-issue');
        assert.equal(again.json().position, 2);
      } finally {
        await t.close();
        if ('TR_QUEUE_NAME' in env) await dropQueueKeys(env.TR_QUEUE_NAME);
      }
    });
  });
