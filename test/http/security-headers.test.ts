import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeTestApp, type TestApp } from '../support/app.ts';

const everyAnswer: Array<[method: 'GET' | 'POST', url: string, status: number]> = [
  ['GET', '/health/live', 200],
  ['POST', '/api/users/1/token', 200],
  ['GET', '/api/concerts', 401],
  ['GET', '/api/users/0/points', 400],
  ['GET', '/no/such/route', 404],
];

describe('security headers and CORS', () => {
  let t: TestApp;
  let cors: TestApp;
  before(async () => {
    t = await makeTestApp('sqlite');
    cors = await makeTestApp('sqlite', {
      TR_CORS_ORIGINS: 'https://tickets.example.com,http://localhost:5173',
    });
  });
  after(async () => {
    await t.close();
    await cors.close();
  });

  test('every answer carries the security headers, errors included', async () => {
    for (const [method, url, status] of everyAnswer) {
      const res = await t.app.inject({ method, url });
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
      const h = res.headers;
      assert.equal(h['x-content-type-options'], 'nosniff', url);
      assert.equal(h['x-frame-options'], 'SAMEORIGIN', url);
      assert.match(String(h['strict-transport-security']), /max-age=\d+/, url);
      assert.equal(h['referrer-policy'], 'no-referrer', url);
      assert.equal(h['cross-origin-opener-policy'], 'same-origin', url);
      assert.equal(h['content-security-policy'], "default-src 'none';frame-ancestors 'none'", url);
      assert.equal(h['x-powered-by'], undefined, url);
    }
  });

  test('/docs keeps working: its page may load its own scripts and styles, nothing from elsewhere', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs' });
    assert.equal(page.statusCode, 200);
    assert.doesNotMatch(
      page.body,
      /<script>|<script[^>]*>[^<\s]/,
      'no inline script for the policy to block',
    );
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-eval|\*/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(assets.length >= 4, 'the page loads its scripts and styles');
    for (const asset of assets) {
      assert.match(asset, /^\/docs\//, 'same origin, so script-src and style-src self cover it');
      assert.equal((await t.app.inject({ method: 'GET', url: asset })).statusCode, 200, asset);
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 200);
    // The API's own deny-all policy is untouched outside /docs.
    const api = await t.app.inject({ method: 'GET', url: '/health/live' });
    assert.equal(api.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'");
  });

  test('CORS is off unless configured: no browser origin gets an allow header', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/concerts',
      headers: { origin: 'https://tickets.example.com', 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    const simple = await t.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://tickets.example.com' },
    });
    assert.equal(simple.headers['access-control-allow-origin'], undefined);
  });

  test('with TR_CORS_ORIGINS, exactly those origins may call, with the headers the API reads', async () => {
    const preflight = await cors.app.inject({
      method: 'OPTIONS',
      url: '/api/users/1/token',
      headers: {
        origin: 'https://tickets.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://tickets.example.com');
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);

    const answer = await cors.app.inject({
      method: 'POST',
      url: '/api/users/1/token',
      headers: { origin: 'http://localhost:5173' },
    });
    assert.equal(answer.headers['access-control-allow-origin'], 'http://localhost:5173');
    assert.match(String(answer.headers['access-control-expose-headers']), /retry-after/);

    const stranger = await cors.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(stranger.headers['access-control-allow-origin'], undefined);
  });
});
