import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync } from 'node:zlib';
import { CONTENT_SECURITY_POLICY } from '../../src/http/web/routes.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';

const OPERATOR_KEY = 'http-suite-operator-key-0123';

describe('the pages, their assets and the operator stats (embedded default)', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp('sqlite', { TR_ADMIN_KEY: OPERATOR_KEY });
  });
  after(async () => t?.close());

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers });

  test('the home page is server-rendered: concerts in the HTML, a CSP of the own origin, a short cache', async () => {
    const res = await get('/');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|https?:/);
    assert.equal(res.headers['cache-control'], 'public, max-age=5');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.body, /<html lang="en">/);
    assert.match(res.body, /<a href="\/concerts\/1">/);
    assert.doesNotMatch(res.body, /<script(?![^>]*(type="module" src="\/assets\/|type="application\/json"))/);
  });

  test('the language follows ?lang=, then the cookie it sets, then Accept-Language', async () => {
    const ko = await get('/wait?schedule=1', { 'accept-language': 'ko-KR,ko;q=0.9,en;q=0.8' });
    assert.match(ko.body, /<html lang="ko">/);
    assert.match(ko.body, /대기 중입니다/);
    const switched = await get('/?lang=en', { 'accept-language': 'ko' });
    assert.match(switched.body, /<html lang="en">/);
    assert.match(String(switched.headers['set-cookie']), /^tr_lang=en;/);
    const remembered = await get('/', { 'accept-language': 'ko', cookie: 'tr_lang=en' });
    assert.match(remembered.body, /<html lang="en">/);
  });

  test('assets are content-hashed, immutable and sent pre-compressed', async () => {
    const page = await get('/wait?schedule=1');
    const script = /src="(\/assets\/wait-[A-Z0-9]+\.js)"/.exec(page.body)?.[1];
    assert.ok(script, 'the waiting page names its hashed script');
    const res = await get(script, { 'accept-encoding': 'br' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.match(String(res.headers['cache-control']), /max-age=31536000.*immutable/);
    assert.match(brotliDecompressSync(res.rawPayload).toString(), /pollAfterMs/);
  });

  test('an unknown concert is a 404 page; the waiting page of an unknown schedule still renders', async () => {
    assert.equal((await get('/concerts/999')).statusCode, 404);
    assert.equal((await get('/wait?schedule=999')).statusCode, 200);
  });

  test('operator stats need the operator key and answer samples and which controls exist', async () => {
    assert.equal((await get('/admin/api/stats')).statusCode, 401);
    assert.equal(
      (await get('/admin/api/stats', { authorization: 'Bearer wrong-key-wrong-key' })).statusCode,
      401,
    );
    const res = await get('/admin/api/stats', { authorization: `Bearer ${OPERATOR_KEY}` });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.samples.length, 1);
    assert.deepEqual(Object.keys(body.samples[0]).sort(), [
      'active',
      'admitPerSecond',
      'at',
      'bookingP95Ms',
      'errorPercent',
      'holds',
      'measuredAdmitPerSecond',
      'revenue',
      'sold',
      'waiting',
    ]);
    // The sales API's live controls light up the console's buttons.
    for (const control of ['pause', 'resume', 'rate', 'cap', 'close'])
      assert.equal(body.controls[control], true, control);
    const later = await get(`/admin/api/stats?since=${body.samples[0].at}`, {
      authorization: `Bearer ${OPERATOR_KEY}`,
    });
    assert.deepEqual(later.json().samples, []);
  });
});
