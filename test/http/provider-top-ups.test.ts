import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SIGNATURE_HEADER, signatureHeader } from '../../src/domain/booking/provider-signature.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';
import { AUDIENCE, ISSUER, SECRET } from '../support/identity.ts';

const PROVIDER_SECRET = 'provider-secret-0123456789-abcdefghijklmnop';
const jwtSale = {
  TR_IDENTITY: 'jwt',
  TR_JWT_ISSUER: ISSUER,
  TR_JWT_AUDIENCE: AUDIENCE,
  TR_JWT_SECRET: SECRET,
  TR_PAYMENT_PROVIDER_SECRET: PROVIDER_SECRET,
};
const CALLBACK = '/api/payments/provider/callback';

const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries())
  describe(`top-ups through the payment provider's signed callback on ${dialect}`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    let t: TestApp;
    before(async () => {
      t = await makeTestApp(dialect, jwtSale);
    });
    after(async () => t?.close());

    const nowSeconds = () => Math.floor(t.clock.now() / 1000);
    /** What the provider sends: the body as bytes and its signature over `<t>.<body>`. */
    const deliver = (
      body: unknown,
      opts: { secret?: string; at?: number; header?: string | null; raw?: string } = {},
    ) => {
      const raw = opts.raw ?? JSON.stringify(body);
      const header =
        opts.header === undefined
          ? signatureHeader(opts.secret ?? PROVIDER_SECRET, opts.at ?? nowSeconds(), raw)
          : opts.header;
      return t.app.inject({
        method: 'POST',
        url: CALLBACK,
        headers: {
          'content-type': 'application/json',
          ...(header === null ? {} : { [SIGNATURE_HEADER]: header }),
        },
        payload: raw,
      });
    };
    const topUp = (eventId: string, userId: number, amount: number) => ({
      eventId,
      type: 'top_up.succeeded',
      userId,
      amount,
    });
    const wallet = async (userId: number) => ({
      balance: await t.composition.services.points.balance(userId),
      ledger: await t.composition.services.bookingStore.ledgerSum(userId),
    });

    test('with TR_IDENTITY=jwt the direct charge is 403 TOP_UP_REQUIRES_PROVIDER and moves nothing', async () => {
      const headers = await t.admit(1);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/users/1/points/charge',
        headers,
        payload: { amount: 5000 },
      });
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().error.code, 'TOP_UP_REQUIRES_PROVIDER');
      assert.deepEqual(await wallet(1), { balance: 0, ledger: 0 });
    });

    test('a signed callback credits once; the same delivery again is ALREADY_CREDITED, not a second credit', async () => {
      const event = topUp('evt_1Ab2', 2, 7000);
      const first = await deliver(event);
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), { eventId: 'evt_1Ab2', userId: 2, amount: 7000, status: 'CREDITED' });
      t.clock.advance(60_000);
      const replay = await deliver(event);
      assert.equal(replay.statusCode, 200, replay.body);
      assert.equal(replay.json().status, 'ALREADY_CREDITED');
      assert.deepEqual(await wallet(2), { balance: 7000, ledger: 7000 });
    });

    test('ten copies of one event delivered at once credit it exactly once', async () => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => deliver(topUp('evt_burst', 3, 900))),
      );
      assert.ok(
        answers.every((a) => a.statusCode === 200),
        answers.map((a) => a.body).join('\n'),
      );
      assert.deepEqual(answers.map((a) => a.json().status).sort(), [
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'ALREADY_CREDITED',
        'CREDITED',
      ]);
      assert.deepEqual(await wallet(3), { balance: 900, ledger: 900 });
    });

    test('event ids compare byte for byte; an id reused with another amount is 409 and credits nothing', async () => {
      assert.equal((await deliver(topUp('evt_Case', 4, 100))).json().status, 'CREDITED');
      assert.equal((await deliver(topUp('evt_case', 4, 100))).json().status, 'CREDITED');
      const reused = await deliver(topUp('evt_Case', 4, 100_000));
      assert.equal(reused.statusCode, 409, reused.body);
      assert.equal(reused.json().error.code, 'PROVIDER_EVENT_MISMATCH');
      const otherUser = await deliver(topUp('evt_Case', 5, 100));
      assert.equal(otherUser.statusCode, 409);
      assert.deepEqual(await wallet(4), { balance: 200, ledger: 200 });
      assert.deepEqual(await wallet(5), { balance: 0, ledger: 0 });
    });

    test('a missing, malformed, wrong, tampered or stale signature is 401 PROVIDER_SIGNATURE_INVALID', async () => {
      const event = topUp('evt_forged', 6, 50_000);
      const raw = JSON.stringify(event);
      const signed = signatureHeader(PROVIDER_SECRET, nowSeconds(), raw);
      const attempts: Array<[string, Parameters<typeof deliver>[1]]> = [
        ['no header', { header: null }],
        ['empty', { header: '' }],
        ['no timestamp', { header: signed.replace(/^t=\d+,/, '') }],
        ['two timestamps', { header: `t=1,${signed}` }],
        ['not hex', { header: `t=${nowSeconds()},v1=${'z'.repeat(64)}` }],
        ['short', { header: `${signed.slice(0, -2)}` }],
        ['another secret', { secret: `${PROVIDER_SECRET}x` }],
        ['tampered body', { header: signed, raw: raw.replace('50000', '50001') }],
        ['whitespace added', { header: signed, raw: `${raw} ` }],
        ['signed 6 minutes ago', { at: nowSeconds() - 360 }],
        ['signed 6 minutes ahead', { at: nowSeconds() + 360 }],
      ];
      for (const [why, opts] of attempts) {
        const res = await deliver(event, opts);
        assert.equal(res.statusCode, 401, `${why}: ${res.body}`);
        assert.equal(res.json().error.code, 'PROVIDER_SIGNATURE_INVALID', why);
      }
      assert.equal((await deliver(event, { at: nowSeconds() - 290 })).statusCode, 200, 'inside the window');
      assert.deepEqual(await wallet(6), { balance: 50_000, ledger: 50_000 });
    });

    test('the body is strict even when signed: no coercion, no extra fields, only top_up.succeeded', async () => {
      const bodies = [
        { eventId: 'evt_s1', type: 'top_up.succeeded', userId: 7, amount: '100' },
        { eventId: 'evt_s2', type: 'top_up.succeeded', userId: 7, amount: 100, bonus: 1 },
        { eventId: 'evt_s3', type: 'top_up.refunded', userId: 7, amount: 100 },
        { eventId: 'evt_s4', type: 'top_up.succeeded', userId: 7, amount: -100 },
        { eventId: 'evt_s5', type: 'top_up.succeeded', userId: 7, amount: 10.5 },
        { eventId: 'evt s6', type: 'top_up.succeeded', userId: 7, amount: 100 },
        { eventId: 'x'.repeat(129), type: 'top_up.succeeded', userId: 7, amount: 100 },
        { type: 'top_up.succeeded', userId: 7, amount: 100 },
      ];
      for (const body of bodies) {
        const res = await deliver(body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
        assert.equal(res.json().error.code, 'VALIDATION_FAILED');
      }
      const malformed = await deliver(undefined, { raw: '{"eventId":' });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().error.code, 'MALFORMED_JSON');
      assert.deepEqual(await wallet(7), { balance: 0, ledger: 0 });
    });

    test('an unknown user is 404 and the event stays unrecorded, so a later delivery can still credit', async () => {
      const res = await deliver(topUp('evt_nobody', 999_999, 100));
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.json().error.code, 'USER_NOT_FOUND');
      const retried = await deliver(topUp('evt_nobody', 999_999, 100));
      assert.equal(retried.json().error.code, 'USER_NOT_FOUND', 'not ALREADY_CREDITED');
    });

    test('OpenAPI declares the callback with its signature scheme', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      assert.deepEqual(doc.paths[CALLBACK].post.security, [{ providerSignature: [] }]);
      assert.equal(doc.components.securitySchemes.providerSignature.name, SIGNATURE_HEADER);
    });
  });

describe('the demo (TR_IDENTITY=none)', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp('sqlite');
  });
  after(async () => t?.close());

  test("keeps the seed's direct charge, and without a provider secret has no callback route", async () => {
    const headers = await t.admit(1);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users/1/points/charge',
      headers,
      payload: { amount: 5000 },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().balance, 5000);
    const raw = JSON.stringify({ eventId: 'e1', type: 'top_up.succeeded', userId: 1, amount: 5 });
    const callback = await t.app.inject({
      method: 'POST',
      url: CALLBACK,
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signatureHeader(PROVIDER_SECRET, Math.floor(t.clock.now() / 1000), raw),
      },
      payload: raw,
    });
    assert.equal(callback.statusCode, 404);
  });
});

test('a provider secret shorter than 32 bytes stops start-up by name, without showing it', async () => {
  const { loadConfig } = await import('../../src/config.ts');
  assert.throws(
    () => loadConfig({ TR_PAYMENT_PROVIDER_SECRET: 'short-secret' }),
    (err: Error) =>
      /^TR_PAYMENT_PROVIDER_SECRET: expected at least 32 bytes, got "12 bytes"$/.test(err.message),
  );
});
