import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { AUDIENCE, hsKey, ISSUER, mintJwt, SECRET } from '../support/identity.ts';

// Asked before any suite starts: a suite's set-up blocks the event loop long enough to time the probe out.
const redisUp = await serverAvailable('redis');

interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  json(): { error?: { code: string; message: string } };
}

const issueFrom =
  (t: TestApp) =>
  (userId: number, remoteAddress: string, authorization?: string): Promise<Answer> =>
    t.app.inject({
      method: 'POST',
      url: `/api/users/${userId}/token`,
      remoteAddress,
      headers: authorization === undefined ? {} : { authorization },
    }) as Promise<Answer>;

function assertLimited(res: Answer, scope: RegExp): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.equal(res.json().error?.code, 'RATE_LIMITED');
  assert.match(res.json().error?.message ?? '', scope);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
}

describe('token issue limits in memory (TR_IDENTITY=none)', () => {
  let t: TestApp;
  let issue: ReturnType<typeof issueFrom>;
  before(async () => {
    t = await makeTestApp('sqlite', { TR_TOKEN_RATE_PER_IP: '3', TR_TOKEN_RATE_PER_USER: '2' });
    issue = issueFrom(t);
  });
  after(() => t.close());

  test('per address: the fourth issue in a minute is 429 with Retry-After, in the one error shape', async () => {
    for (const user of [1, 2, 3]) assert.equal((await issue(user, '203.0.113.7')).statusCode, 200);
    assertLimited(await issue(4, '203.0.113.7'), /address/);
    assert.equal((await issue(4, '203.0.113.8')).statusCode, 200, 'another address is not affected');
  });

  test("per user, across addresses: a user's third issue in a minute is 429", async () => {
    assert.equal((await issue(20, '198.51.100.1')).statusCode, 200);
    assert.equal((await issue(20, '198.51.100.2')).statusCode, 200);
    assertLimited(await issue(20, '198.51.100.3'), /user/);
  });

  test("loopback is exempt from the address limit in the demo, so the seed's load test (one host) never trips it", async () => {
    for (let user = 30; user < 40; user++) assert.equal((await issue(user, '127.0.0.1')).statusCode, 200);
    for (let user = 40; user < 45; user++) assert.equal((await issue(user, '::1')).statusCode, 200);
  });
});

describe('token issue limits with TR_IDENTITY=jwt', () => {
  let t: TestApp;
  let issue: ReturnType<typeof issueFrom>;
  before(async () => {
    t = await makeTestApp('sqlite', {
      TR_IDENTITY: 'jwt',
      TR_JWT_SECRET: SECRET,
      TR_JWT_ISSUER: ISSUER,
      TR_JWT_AUDIENCE: AUDIENCE,
      TR_TOKEN_RATE_PER_IP: '5',
      TR_TOKEN_RATE_PER_USER: '2',
    });
    issue = issueFrom(t);
  });
  after(() => t.close());

  test("failed attempts count against the caller's address, never against the user they name", async () => {
    const forged = await mintJwt(hsKey('attacker-secret-0123456789-abcdefghij'), t.clock.now(), { sub: '7' });
    // Loopback is not exempt outside the demo.
    for (let i = 0; i < 5; i++)
      assert.equal((await issue(7, '127.0.0.1', `Bearer ${forged}`)).statusCode, 401);
    assertLimited(await issue(7, '127.0.0.1', `Bearer ${forged}`), /address/);

    const own = `Bearer ${await mintJwt(hsKey(), t.clock.now(), { sub: '7' })}`;
    assert.equal((await issue(7, '192.0.2.10', own)).statusCode, 200);
    assert.equal((await issue(7, '192.0.2.11', own)).statusCode, 200);
    assertLimited(await issue(7, '192.0.2.12', own), /user/);
  });
});

describe('token issue limits shared through Redis', { skip: redisUp ? false : 'redis not reachable' }, () => {
  const name = `limits-${randomBytes(6).toString('hex')}`;
  const env = {
    TR_QUEUE: serverUrls.redis,
    TR_QUEUE_NAME: name,
    TR_TOKEN_RATE_PER_IP: '4',
    TR_TOKEN_RATE_PER_USER: '3',
  };
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = await makeTestApp('sqlite', env);
    b = await makeTestApp('sqlite', env);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    const redis = new Redis(serverUrls.redis);
    const keys = await redis.keys(`*${name}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('two app instances (as two processes would) share one budget per address and per user', async () => {
    const [onA, onB] = [issueFrom(a), issueFrom(b)];
    assert.equal((await onA(1, '203.0.113.50')).statusCode, 200);
    assert.equal((await onB(2, '203.0.113.50')).statusCode, 200);
    assert.equal((await onA(3, '203.0.113.50')).statusCode, 200);
    assert.equal((await onB(4, '203.0.113.50')).statusCode, 200);
    assertLimited(await onA(5, '203.0.113.50'), /address/);
    assertLimited(await onB(5, '203.0.113.50'), /address/);

    assert.equal((await onA(9, '203.0.113.61')).statusCode, 200);
    assert.equal((await onB(9, '203.0.113.62')).statusCode, 200);
    assert.equal((await onA(9, '203.0.113.63')).statusCode, 200);
    assertLimited(await onB(9, '203.0.113.64'), /user/);
  });
});
