import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../cluster/server-process.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { AUDIENCE, es256Key, hsKey, ISSUER, mintJwt, SECRET, serveJwks } from '../support/identity.ts';

type Json = Record<string, unknown> & { error?: { code: string; message: string } };

const jwtEnv = { TR_IDENTITY: 'jwt', TR_JWT_ISSUER: ISSUER, TR_JWT_AUDIENCE: AUDIENCE };

function routes(app: TestApp) {
  const issue = (userId: number, authorization?: string) =>
    app.app.inject({
      method: 'POST',
      url: `/api/users/${userId}/token`,
      headers: authorization === undefined ? {} : { authorization },
    });
  const poll = (userId: number, key: string) =>
    app.app.inject({ method: 'GET', url: `/api/users/${userId}/token`, headers: { authorization: key } });
  return { issue, poll };
}

const codeOf = (res: { json(): unknown }) => (res.json() as Json).error?.code;

describe('TR_IDENTITY=jwt with an HS256 shared secret', () => {
  let t: TestApp;
  let issue: ReturnType<typeof routes>['issue'];
  let poll: ReturnType<typeof routes>['poll'];
  const jwtFor = (sub: number, claims: Parameters<typeof mintJwt>[2] = {}) =>
    mintJwt(hsKey(), t.clock.now(), { sub: String(sub), ...claims });

  before(async () => {
    t = await makeTestApp('sqlite', { ...jwtEnv, TR_JWT_SECRET: SECRET });
    ({ issue, poll } = routes(t));
  });
  after(() => t.close());

  test("the user's own login JWT gets a key bound to that user; the key alone then polls", async () => {
    const res = await issue(3, `Bearer ${await jwtFor(3)}`);
    assert.equal(res.statusCode, 200, res.body);
    const key = (res.json() as { accessKey: string }).accessKey;
    assert.equal((await poll(3, key)).statusCode, 200);
    const elsewhere = await poll(4, key);
    assert.equal(elsewhere.statusCode, 403);
    assert.equal(codeOf(elsewhere), 'TOKEN_NOT_YOURS');
  });

  test('no identity token: 401 IDENTITY_REQUIRED, whatever else the header holds', async () => {
    const jwt = await jwtFor(3);
    for (const authorization of [undefined, jwt, 'Bearer ', `Basic ${jwt}`]) {
      const res = await issue(3, authorization);
      assert.equal(res.statusCode, 401, `${authorization}: ${res.body}`);
      assert.equal(codeOf(res), 'IDENTITY_REQUIRED');
    }
  });

  test("a JWT for another user is 403 and takes nobody's place", async () => {
    const victim = await issue(5, `Bearer ${await jwtFor(5)}`);
    const victimKey = (victim.json() as { accessKey: string }).accessKey;
    const before = (await poll(5, victimKey)).json() as { position: number };

    const attack = await issue(5, `Bearer ${await jwtFor(6)}`);
    assert.equal(attack.statusCode, 403);
    assert.equal(codeOf(attack), 'IDENTITY_NOT_THIS_USER');
    assert.equal(attack.json().accessKey, undefined);
    // A key got for oneself opens nothing of the victim's.
    const own = (await issue(6, `Bearer ${await jwtFor(6)}`)).json() as { accessKey: string };
    assert.equal((await poll(5, own.accessKey)).statusCode, 403);
    for (const url of ['/api/users/5/points', '/api/users/5/reservations']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: own.accessKey } });
      assert.ok([401, 403].includes(res.statusCode), `${url}: ${res.statusCode}`);
    }
    // The victim's key and place are untouched: no rotation happened.
    t.clock.advance(60_000); // past the grace period a rotation would have started
    const after = await poll(5, victimKey);
    assert.equal(after.statusCode, 200, after.body);
    assert.ok((after.json() as { position: number }).position <= before.position);
  });

  test('expired, foreign issuer or audience, bad signature, no subject or no signature: 401 IDENTITY_INVALID', async () => {
    const now = t.clock.now();
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: '3', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(now / 1000) + 60 }),
    ).toString('base64url')}.`;
    const cases: Array<[string, string, RegExp]> = [
      ['expired', await jwtFor(3, { expiresIn: -60 }), /expired/],
      ['wrong issuer', await jwtFor(3, { iss: 'https://evil.test' }), /"iss"/],
      ['wrong audience', await jwtFor(3, { aud: 'another-api' }), /"aud"/],
      [
        'bad signature',
        await mintJwt(hsKey('another-secret-0123456789-abcdefghij'), now, { sub: '3' }),
        /signature/,
      ],
      ['no subject', await mintJwt(hsKey(), now, {}), /"sub"/],
      ['alg none', unsigned, /./],
      ['garbage', 'abc.def.ghi', /malformed/],
    ];
    for (const [name, jwt, message] of cases) {
      const res = await issue(3, `Bearer ${jwt}`);
      assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
      assert.equal(codeOf(res), 'IDENTITY_INVALID', name);
      assert.match((res.json() as Json).error?.message ?? '', message, name);
      assert.ok(!res.body.includes(jwt), `${name}: the token is not echoed`);
    }
  });

  test('expiry follows the server clock, with a small tolerance', async () => {
    const jwt = await jwtFor(7, { expiresIn: 60 });
    assert.equal((await issue(7, `Bearer ${jwt}`)).statusCode, 200);
    t.clock.advance(62_000); // 2 s past exp, inside the 5 s tolerance
    assert.equal((await issue(7, `Bearer ${jwt}`)).statusCode, 200);
    t.clock.advance(10_000);
    const late = await issue(7, `Bearer ${jwt}`);
    assert.equal(late.statusCode, 401);
    assert.equal(codeOf(late), 'IDENTITY_INVALID');
  });

  test('OpenAPI: every /api route declares its security; token issue needs the identity bearer', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as OpenApi;
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), [
      'accessKey',
      'identityBearer',
      'operatorKey',
    ]);
    // What is on sale and the published draw are for anyone to read.
    assert.deepEqual(unsecuredApiRoutes(doc), PUBLIC_SALE_READS);
    assert.deepEqual(doc.paths['/api/users/{userId}/token']?.post?.security, [{ identityBearer: [] }]);
    assert.deepEqual(doc.paths['/api/sales/{saleId}/users/{userId}/token']?.post?.security, [
      { identityBearer: [] },
    ]);
    assert.deepEqual(doc.paths['/api/users/{userId}/token']?.get?.security, [{ accessKey: [] }]);
  });
});

describe('TR_IDENTITY=jwt with a JWKS URL (ES256)', () => {
  let t: TestApp;
  let jwks: Awaited<ReturnType<typeof serveJwks>>;
  let signer: Awaited<ReturnType<typeof es256Key>>;
  let issue: ReturnType<typeof routes>['issue'];

  before(async () => {
    signer = await es256Key('login-2026');
    const rotatedIn = await es256Key('login-2027');
    jwks = await serveJwks([signer.jwk, rotatedIn.jwk]);
    t = await makeTestApp('sqlite', { ...jwtEnv, TR_JWT_JWKS_URL: jwks.url });
    ({ issue } = routes(t));
  });
  after(async () => {
    await t.close();
    await jwks.close();
  });

  const es256 = (sub: string, key = signer.privateKey, kid = 'login-2026') =>
    mintJwt(key, t.clock.now(), { sub }, { alg: 'ES256', kid });

  test("a JWT signed by the provider's key gets a key; the key set is fetched once, not per request", async () => {
    for (const user of [11, 12, 13]) {
      const res = await issue(user, `Bearer ${await es256(String(user))}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(typeof res.json().accessKey, 'string');
    }
    assert.equal(jwks.requests(), 1);
  });

  test('a wrong subject is 403; a foreign key, an unknown kid or an HS256 token is 401', async () => {
    const wrongSub = await issue(11, `Bearer ${await es256('12')}`);
    assert.equal(wrongSub.statusCode, 403);
    assert.equal(codeOf(wrongSub), 'IDENTITY_NOT_THIS_USER');

    const forger = await es256Key('login-2026');
    const cases: Array<[string, string]> = [
      ['foreign key, known kid', await es256('11', forger.privateKey)],
      ['unknown kid', await es256('11', forger.privateKey, 'not-published')],
      ['HS256', await mintJwt(hsKey(), t.clock.now(), { sub: '11' })],
    ];
    for (const [name, jwt] of cases) {
      const res = await issue(11, `Bearer ${jwt}`);
      assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
      assert.equal(codeOf(res), 'IDENTITY_INVALID', name);
    }
  });
});

describe('TR_IDENTITY=jwt with its JWKS unreachable', () => {
  let t: TestApp;
  before(async () => {
    const port = await freePort();
    t = await makeTestApp('sqlite', { ...jwtEnv, TR_JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` });
  });
  after(() => t.close());

  test("the provider's outage is 503 IDENTITY_UNAVAILABLE with Retry-After, not the caller's 401", async () => {
    const { privateKey } = await es256Key('k');
    const jwt = await mintJwt(privateKey, t.clock.now(), { sub: '1' }, { alg: 'ES256', kid: 'k' });
    const res = await routes(t).issue(1, `Bearer ${jwt}`);
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(codeOf(res), 'IDENTITY_UNAVAILABLE');
    assert.equal(res.headers['retry-after'], '5');
  });
});

describe('TR_IDENTITY=none (the demo default)', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp('sqlite');
  });
  after(() => t.close());

  test("the seed's client works unchanged: issue with no credentials, poll with the key alone", async () => {
    const { issue, poll } = routes(t);
    const issued = await t.app.inject({ method: 'POST', url: '/api/users/8/token', payload: { userId: 8 } });
    assert.equal(issued.statusCode, 200, issued.body);
    const key = (issued.json() as { accessKey: string }).accessKey;
    assert.equal((await poll(8, key)).statusCode, 200);
    // A bearer header is ignored, not verified, in this mode.
    assert.equal((await issue(9, 'Bearer not-a-jwt')).statusCode, 200);
  });

  test('OpenAPI: only token issue is public', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as OpenApi;
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['accessKey', 'operatorKey']);
    assert.deepEqual(
      unsecuredApiRoutes(doc).sort(),
      [
        ...PUBLIC_SALE_READS,
        'POST /api/sales/{saleId}/users/{userId}/token',
        'POST /api/users/{userId}/token',
      ].sort(),
    );
  });
});

const PUBLIC_SALE_READS = ['GET /api/sales', 'GET /api/sales/{saleId}', 'GET /api/sales/{saleId}/draw'];

interface OpenApi {
  paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
  components: { securitySchemes: Record<string, unknown> };
}

/** /api operations that declare no security requirement naming a known scheme. */
function unsecuredApiRoutes(doc: OpenApi): string[] {
  const open: string[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const [method, op] of Object.entries(operations)) {
      const schemes = (op.security ?? []).flatMap((requirement) => Object.keys(requirement));
      const known = schemes.length > 0 && schemes.every((s) => s in doc.components.securitySchemes);
      if (!known) open.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return open.sort();
}
