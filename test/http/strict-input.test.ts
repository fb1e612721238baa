import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries())
  describe(`strict request input on ${dialect}`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    let t: TestApp;
    before(async () => {
      t = await makeTestApp(dialect);
    });
    after(async () => t?.close());

    const send = async (userId: number, opts: InjectOptions) =>
      t.app.inject({ ...opts, headers: { ...(await t.admit(userId)), ...opts.headers } });
    const balance = async (userId: number) =>
      (await send(userId, { method: 'GET', url: `/api/users/${userId}/points` })).json().balance;
    const freeSeats = async (scheduleId: number) =>
      (await send(1, { method: 'GET', url: `/api/schedules/${scheduleId}` })).json().availableSeats;

    const assertRejected = (res: { statusCode: number; json(): unknown }, status: number, code: string) => {
      assert.equal(res.statusCode, status);
      const body = res.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      return body.error.message;
    };

    test('a charge amount that is not a JSON integer is 400 naming the field, and no points move', async () => {
      for (const amount of ['100', true, [100], null, 100.5, { value: 100 }, '1e2']) {
        const res = await send(10, {
          method: 'POST',
          url: '/api/users/10/points/charge',
          payload: { amount },
        });
        const message = assertRejected(res, 400, 'VALIDATION_FAILED');
        assert.match(message, /amount/, `${JSON.stringify(amount)}: ${message}`);
      }
      assert.equal(await balance(10), 0);
    });

    test('hold fields that are not JSON integers are 400 naming the field, and no seat is held', async () => {
      const valid = { userId: 11, concertScheduleId: 5, seatId: 1 };
      for (const field of ['userId', 'concertScheduleId', 'seatId'] as const)
        for (const value of [true, String(valid[field]), [valid[field]], null, 1.5]) {
          const res = await send(11, {
            method: 'POST',
            url: '/api/reservations',
            payload: { ...valid, [field]: value },
          });
          const message = assertRejected(res, 400, 'VALIDATION_FAILED');
          assert.match(message, new RegExp(field), `${field}=${JSON.stringify(value)}: ${message}`);
        }
      assert.equal(await freeSeats(5), 10);
    });

    test('a payment userId given as text is 400', async () => {
      const res = await send(12, {
        method: 'POST',
        url: '/api/payments',
        payload: { userId: '12', reservationId: '0190a0b0-0000-7000-8000-000000000000' },
      });
      assertRejected(res, 400, 'VALIDATION_FAILED');
    });

    test('path and query integers parse only from canonical decimal text', async () => {
      const auth = await t.admit(13);
      for (const bad of ['007', '1e3', ' 5', '%205', '+5', '5.0', '0x10', '-0', '5%20', '1_000', '']) {
        for (const url of [`/api/users/${bad}/points`, `/api/schedules/${bad}`]) {
          const res = await t.app.inject({ method: 'GET', url, headers: auth });
          // An empty segment matches no route: 404 is right there.
          if (bad === '') assert.ok([400, 404].includes(res.statusCode), url);
          else assertRejected(res, 400, 'VALIDATION_FAILED');
        }
        if (bad === '') continue;
        const res = await t.app.inject({ method: 'GET', url: `/api/concerts?limit=${bad}`, headers: auth });
        const message = assertRejected(res, 400, 'VALIDATION_FAILED');
        assert.match(message, /limit/);
      }
      assert.equal(
        (await t.app.inject({ method: 'GET', url: '/api/schedules/10', headers: auth })).statusCode,
        200,
      );
      const page = await t.app.inject({ method: 'GET', url: '/api/concerts?limit=2', headers: auth });
      assert.equal(page.statusCode, 200);
      assert.equal(page.json().concerts.length, 2);
    });

    test('the OpenAPI document shows the canonical id pattern', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      const param = doc.paths['/api/users/{userId}/points'].get.parameters.find(
        (p: { name: string }) => p.name === 'userId',
      );
      assert.equal(param.schema.type, 'integer');
      assert.equal(typeof param.schema.pattern, 'string');
      assert.ok(!new RegExp(param.schema.pattern).test('007'));
      assert.ok(new RegExp(param.schema.pattern).test('7'));
    });

    test('a body over 16 KiB is 413 in the error shape', async () => {
      const res = await send(14, {
        method: 'POST',
        url: '/api/users/14/points/charge',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ amount: 100, pad: 'x'.repeat(17 * 1024) }),
      });
      assertRejected(res, 413, 'PAYLOAD_TOO_LARGE');
      assert.equal(await balance(14), 0);
    });

    test('a body that is not JSON is 415; malformed JSON is 400; both in the error shape', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await send(15, {
          method: 'POST',
          url: '/api/users/15/points/charge',
          headers: { 'content-type': type },
          payload: 'amount=100',
        });
        assertRejected(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      }
      for (const payload of ['{"amount":', '{amount:100}', "{'amount':100}", '{"amount":100}}']) {
        const res = await send(15, {
          method: 'POST',
          url: '/api/users/15/points/charge',
          headers: { 'content-type': 'application/json' },
          payload,
        });
        assertRejected(res, 400, 'MALFORMED_JSON');
      }
      assert.equal(await balance(15), 0);
    });

    test('a URL that does not decode, or a path parameter too long to route, answers in the error shape', async () => {
      const auth = await t.admit(17);
      for (const url of ['/api/users/%zz/points', '/api/users/%/points', '/api/schedules/%E0%A4%A']) {
        assertRejected(await t.app.inject({ method: 'GET', url, headers: auth }), 400, 'BAD_REQUEST');
      }
      const long = await t.app.inject({
        method: 'GET',
        url: `/api/schedules/${'1'.repeat(101)}`,
        headers: auth,
      });
      assertRejected(long, 414, 'URI_TOO_LONG');
    });

    test('well-typed requests still work', async () => {
      const res = await send(16, {
        method: 'POST',
        url: '/api/users/16/points/charge',
        payload: { amount: 100 },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(await balance(16), 100);
      const hold = await send(16, {
        method: 'POST',
        url: '/api/reservations',
        payload: { userId: 16, concertScheduleId: 6, seatId: 2 },
      });
      assert.equal(hold.statusCode, 200, hold.body);
    });
  });
