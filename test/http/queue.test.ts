import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ManualClock } from '../../src/domain/clock.ts';
import { anyoneMayNameAnyUser } from '../../src/domain/identity.ts';
import type { QueueStore } from '../../src/domain/queue-store.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { installErrorHandling } from '../../src/http/errors.ts';
import { admissionGate, queueRoutes } from '../../src/http/queue.ts';
import { registerRateLimiting } from '../../src/http/rate-limit.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { RedisQueueStore } from '../../src/queue/redis-store.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';

const settings = {
  admitPerSecond: 2,
  maxActive: 100,
  activeTtlSeconds: 300,
  activeIdleSeconds: 15,
  tokenGraceSeconds: 30,
  idleTimeoutSeconds: 30,
};

const storeSettings = { activeTtlMs: 300_000, tokenGraceMs: 30_000, activeIdleMs: 15_000 };
const redisUp = await serverAvailable('redis');
const stores: Array<{ name: string; skip: string | false; make: () => QueueStore }> = [
  { name: 'memory', skip: false, make: () => new MemoryQueueStore(storeSettings) },
  {
    name: 'redis',
    skip: redisUp ? false : `redis not reachable at ${serverUrls.redis}`,
    make: () =>
      new RedisQueueStore({
        redis: serverUrls.redis,
        settings: storeSettings,
        hashTag: `http-${randomBytes(6).toString('hex')}`,
      }),
  },
];

async function makeApp(store: QueueStore) {
  const clock = new ManualClock();
  const waitingRoom = new WaitingRoom({ store, clock, settings });
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandling(app);
  const tokenIssueLimits = {
    perIpPerMinute: 0,
    perUserPerMinute: 0,
    exemptLoopback: true,
    store: 'memory',
  } as const;
  await registerRateLimiting(app, tokenIssueLimits);
  await app.register(queueRoutes, {
    services: { waitingRoom, identity: anyoneMayNameAnyUser, tokenIssueLimits },
  });
  const gate = admissionGate(waitingRoom);
  // Stand-ins for guarded routes: one naming a user, one not.
  app.get(
    '/api/users/:userId/points',
    { preHandler: gate.userAdmitted, schema: { params: Type.Object({ userId: Type.Integer() }) } },
    async () => ({ ok: true }),
  );
  app.get('/api/concerts', { preHandler: gate.anyAdmitted }, async () => ({ concerts: [] }));
  await app.ready();
  return { app, clock, waitingRoom };
}

for (const backend of stores)
  describe(`queue routes on ${backend.name}`, { skip: backend.skip }, () => {
    let app: FastifyInstance;
    let clock: ManualClock;
    let waitingRoom: WaitingRoom;
    let store: QueueStore;
    before(async () => {
      store = backend.make();
      ({ app, clock, waitingRoom } = await makeApp(store));
    });
    after(async () => {
      await app.close();
      if (store instanceof RedisQueueStore) await store.destroy();
      await store.close();
    });

    const issue = (userId: number | string, body?: Record<string, unknown>) =>
      body === undefined
        ? app.inject({ method: 'POST', url: `/api/users/${userId}/token` })
        : app.inject({ method: 'POST', url: `/api/users/${userId}/token`, payload: body });
    const poll = (userId: number | string, authorization?: string) =>
      app.inject({
        method: 'GET',
        url: `/api/users/${userId}/token`,
        headers: authorization === undefined ? {} : { authorization },
      });

    test('the seed client: issue, poll every second until order 0, then use guarded routes', async () => {
      const first = await issue(1, { userId: 1 });
      assert.equal(first.statusCode, 200);
      const ticket = first.json();
      assert.equal(ticket.status, 'WAITING');
      assert.equal(ticket.order, 1);
      assert.equal(typeof ticket.etaSeconds, 'number');
      assert.equal(first.headers['retry-after'], String(Math.ceil(ticket.pollAfterMs / 1000)));
      assert.equal((await issue(2)).statusCode, 200, 'the body is optional');

      const denied = await app.inject({
        method: 'GET',
        url: '/api/concerts',
        headers: { authorization: ticket.accessKey },
      });
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().error.code, 'NOT_ADMITTED');

      await waitingRoom.tick();
      let order = ticket.order;
      for (let s = 0; s < 10 && order !== 0; s++) {
        clock.advance(1000);
        await waitingRoom.tick();
        const res = await poll(1, ticket.accessKey);
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().accessKey, undefined);
        assert.ok(Number(res.headers['retry-after']) >= 1);
        order = res.json().order;
      }
      assert.equal(order, 0);
      const bearer = await poll(1, `Bearer ${ticket.accessKey}`);
      assert.equal(bearer.json().status, 'ACTIVE');

      const concerts = await app.inject({
        method: 'GET',
        url: '/api/concerts',
        headers: { authorization: ticket.accessKey },
      });
      assert.equal(concerts.statusCode, 200);
      const mine = await app.inject({
        method: 'GET',
        url: '/api/users/1/points',
        headers: { authorization: ticket.accessKey },
      });
      assert.equal(mine.statusCode, 200);
      const theirs = await app.inject({
        method: 'GET',
        url: '/api/users/2/points',
        headers: { authorization: ticket.accessKey },
      });
      assert.equal(theirs.statusCode, 403);
      assert.equal(theirs.json().error.code, 'TOKEN_NOT_YOURS');
      const none = await app.inject({ method: 'GET', url: '/api/concerts' });
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error.code, 'TOKEN_MISSING');
    });

    test('401 without a key or with an unknown one, 403 with another user’s', async () => {
      const mine = (await issue(10)).json();
      const missing = await poll(10);
      assert.equal(missing.statusCode, 401);
      assert.equal(missing.json().error.code, 'TOKEN_MISSING');
      const unknown = await poll(10, 'x'.repeat(22));
      assert.equal(unknown.statusCode, 401);
      assert.equal(unknown.json().error.code, 'TOKEN_INVALID');
      const theirs = await poll(11, mine.accessKey);
      assert.equal(theirs.statusCode, 403);
      assert.equal(theirs.json().error.code, 'TOKEN_NOT_YOURS');
    });

    test('issuing again keeps the place and the previous key keeps working', async () => {
      const a = (await issue(20)).json();
      const b = (await issue(20, { userId: 20 })).json();
      assert.notEqual(a.accessKey, b.accessKey);
      assert.equal(a.position, b.position);
      assert.equal((await poll(20, a.accessKey)).statusCode, 200);
      assert.equal((await poll(20, b.accessKey)).statusCode, 200);
    });

    test('DELETE leaves the line or frees the slot at once: 204, then the key is 401', async () => {
      const leave = (userId: number, authorization?: string) =>
        app.inject({
          method: 'DELETE',
          url: `/api/users/${userId}/token`,
          headers: authorization === undefined ? {} : { authorization },
        });
      const waiter = (await issue(30)).json();
      const behind = (await issue(31)).json();
      assert.equal((await leave(30)).json().error.code, 'TOKEN_MISSING');
      assert.equal((await leave(30, behind.accessKey)).statusCode, 403);
      const left = await leave(30, `Bearer ${waiter.accessKey}`);
      assert.equal(left.statusCode, 204);
      assert.equal(left.body, '');
      const moved = (await poll(31, behind.accessKey)).json();
      assert.equal(moved.position, behind.position - 1, 'everyone behind moves up');
      const gone = await poll(30, waiter.accessKey);
      assert.deepEqual([gone.statusCode, gone.json().error.code], [401, 'TOKEN_EXPIRED']);

      for (let s = 0; s < 60 && (await poll(31, behind.accessKey)).json().order !== 0; s++) {
        clock.advance(1000);
        await waitingRoom.tick();
      }
      const before = (await waitingRoom.counts()).active;
      assert.equal((await leave(31, behind.accessKey)).statusCode, 204);
      assert.equal((await waitingRoom.counts()).active, before - 1, 'the slot is free at once');
      const points = await app.inject({
        method: 'GET',
        url: '/api/users/31/points',
        headers: { authorization: behind.accessKey },
      });
      assert.deepEqual([points.statusCode, points.json().error.code], [401, 'TOKEN_EXPIRED']);
    });

    test('bad user ids and a mismatched body are 400 with an error body', async () => {
      for (const bad of ['abc', '-1', '0', '99999999999']) {
        for (const res of [await issue(bad), await poll(bad, 'x'.repeat(22))]) {
          assert.equal(res.statusCode, 400, `userId ${bad}`);
          assert.equal(res.json().error.code, 'VALIDATION_FAILED');
          assert.equal(typeof res.json().error.message, 'string');
        }
      }
      const mismatch = await issue(5, { userId: 6 });
      assert.equal(mismatch.statusCode, 400);
      assert.equal(mismatch.json().error.code, 'VALIDATION_FAILED');
    });
  });
