import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SCHEDULE_CACHE_MS } from '../../src/domain/catalog.ts';
import { SEAT_MAP_FRESH_MS } from '../../src/domain/seat-map-copies.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries())
  describe(`catalog and health routes on ${dialect}`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    let t: TestApp;
    let admitted: Record<string, string>;
    before(async () => {
      t = await makeTestApp(dialect);
      admitted = await t.admit(1);
    });
    after(async () => t?.close());

    const get = (url: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url, headers: { ...admitted, ...headers } });

    test('catalog routes need an admitted key: 401 without one, a queue token alone is not enough', async () => {
      const missing = await t.app.inject({ method: 'GET', url: '/api/concerts' });
      assert.equal(missing.statusCode, 401);
      assert.equal(missing.json().error.code, 'TOKEN_MISSING');
      const waiting = await t.app.inject({ method: 'POST', url: '/api/users/2/token' });
      assert.equal(waiting.json().order > 0, true, 'no tick ran, so user 2 still waits');
      const early = await get('/api/concerts', { authorization: waiting.json().accessKey });
      assert.equal(early.statusCode, 403);
      assert.equal(early.json().error.code, 'NOT_ADMITTED');
      const unknown = await get('/api/concerts', { authorization: 'A'.repeat(22) });
      assert.equal(unknown.statusCode, 401);
    });

    test('GET /api/concerts lists concerts with a cursor to the next page', async () => {
      const first = await get('/api/concerts?limit=2');
      assert.equal(first.statusCode, 200);
      const body = first.json();
      assert.deepEqual(
        body.concerts.map((c: { id: number }) => c.id),
        [1, 2],
      );
      assert.equal(typeof body.nextCursor, 'string');
      const second = (await get(`/api/concerts?limit=2&cursor=${body.nextCursor}`)).json();
      assert.deepEqual(
        second.concerts.map((c: { id: number }) => c.id),
        [3],
      );
      assert.equal(second.nextCursor, null);
    });

    test('the default page is small and complete for the small demo', async () => {
      const body = (await get('/api/concerts')).json();
      assert.equal(body.concerts.length, 3);
      assert.equal(body.nextCursor, null);
    });

    test('a forged cursor or an out-of-range limit is a 400', async () => {
      for (const url of [
        '/api/concerts?cursor=bm9wZQ',
        '/api/concerts?limit=0',
        '/api/concerts?limit=101',
        '/api/concerts?limit=x',
      ]) {
        const res = await get(url);
        assert.equal(res.statusCode, 400, url);
        assert.equal(res.json().error.code, 'VALIDATION_FAILED', url);
      }
    });

    test('GET schedules gives dates and free-seat counts', async () => {
      const res = await get('/api/concerts/1/schedules');
      assert.equal(res.statusCode, 200);
      const { schedules } = res.json();
      assert.equal(schedules.length, 4);
      assert.equal(schedules[0].id, 1);
      assert.equal(schedules[0].concertId, 1);
      assert.equal(schedules[0].availableSeats, 10);
      assert.ok(!Number.isNaN(Date.parse(schedules[0].startsAt)));
    });

    test('schedules of an unknown concert are a 404 with a code', async () => {
      const res = await get('/api/concerts/999/schedules');
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'CONCERT_NOT_FOUND');
    });

    test('available seats: all 10 with id, number and price, until one is claimed', async () => {
      const res = await get('/api/concerts/1/schedules/1/seats/available');
      assert.equal(res.statusCode, 200);
      const { seats, held, sold } = res.json();
      assert.equal(seats.length, 10);
      assert.deepEqual([held, sold], [[], []]);
      assert.deepEqual(Object.keys(seats[0]).sort(), ['grade', 'id', 'number', 'price', 'seatId']);
      assert.ok(seats.every((s: { price: number }) => Number.isInteger(s.price) && s.price > 0));

      await t.composition.services.database.db
        .insertInto('seat_claims')
        .values({
          schedule_id: 1,
          seat_id: 4,
          reservation_id: 'x',
          user_id: 1,
          status: 'HELD',
          expires_at: t.clock.now() + 5000,
        })
        .execute();
      await t.composition.services.database.db
        .insertInto('seat_claims')
        .values({
          schedule_id: 1,
          seat_id: 6,
          reservation_id: 'y',
          user_id: 2,
          status: 'SOLD',
          expires_at: t.clock.now() - 1,
        })
        .execute();
      // Claims written by someone else (here, straight into the table) show once this process's copy of the
      // seat map is a second old (SEAT_MAP_FRESH_MS); its own holds and sales show at once (booking.test.ts).
      const copy = (await get('/api/concerts/1/schedules/1/seats/available')).json();
      assert.equal(copy.seats.length, 10);
      t.clock.advance(SEAT_MAP_FRESH_MS);
      const body = (await get('/api/concerts/1/schedules/1/seats/available')).json();
      const after = body.seats;
      assert.equal(after.length, 8);
      assert.ok(!after.some((s: { id: number }) => s.id === 4 || s.id === 6));
      // Taken seats say whether they are held (may come free again) or sold.
      assert.deepEqual([body.held, body.sold], [[4], [6]]);
      // The concert's listing is each process's copy for up to a second (SCHEDULE_CACHE_MS): the schedule's own
      // route counts at once, the listing once its copy ages out.
      assert.equal((await get('/api/schedules/1')).json().availableSeats, 8);
      t.clock.advance(SCHEDULE_CACHE_MS);
      assert.equal((await get('/api/concerts/1/schedules')).json().schedules[0].availableSeats, 8);

      t.clock.advance(5001 - SCHEDULE_CACHE_MS - SEAT_MAP_FRESH_MS);
      const later = (await get('/api/concerts/1/schedules/1/seats/available')).json();
      assert.equal(later.seats.length, 9);
      assert.deepEqual([later.held, later.sold], [[], [6]]);
      assert.equal((await get('/api/schedules/1')).json().availableSeats, 9);
    });

    test("a schedule that is not the concert's is a 404", async () => {
      const res = await get('/api/concerts/2/schedules/1/seats/available');
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'SCHEDULE_NOT_FOUND');
      assert.equal((await get('/api/concerts/1/schedules/999/seats/available')).statusCode, 404);
    });

    test('GET /api/schedules/:id names its concert', async () => {
      const res = await get('/api/schedules/5');
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().concertId, 2);
    });

    test('non-numeric, negative, zero and huge ids are 400, never 500', async () => {
      for (const bad of ['abc', '-1', '0', '1.5', '99999999999', '12abc']) {
        for (const url of [
          `/api/concerts/${bad}/schedules`,
          `/api/concerts/1/schedules/${bad}/seats/available`,
          `/api/concerts/${bad}/schedules/1/seats/available`,
        ]) {
          const res = await get(url);
          assert.equal(res.statusCode, 400, url);
          const body = res.json();
          assert.equal(body.error.code, 'VALIDATION_FAILED', url);
          assert.equal(typeof body.error.message, 'string');
        }
      }
    });

    test('unknown routes answer the same error shape', async () => {
      const res = await get('/api/nothing-here');
      assert.equal(res.statusCode, 404);
      assert.deepEqual(Object.keys(res.json()), ['error']);
      assert.equal(res.json().error.code, 'NOT_FOUND');
    });

    test('a malformed JSON body is a 400 in the same shape', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/concerts',
        headers: { 'content-type': 'application/json' },
        payload: '{"broken',
      });
      assert.ok(res.statusCode === 400 || res.statusCode === 404, String(res.statusCode));
      assert.equal(typeof res.json().error.code, 'string');
    });

    test('health: live is cheap, ready checks the database', async () => {
      assert.deepEqual((await get('/health/live')).json(), { status: 'ok' });
      const ready = await get('/health/ready');
      assert.equal(ready.statusCode, 200);
      assert.equal(ready.json().checks[0].name, 'database');
      assert.equal(ready.json().checks[0].ok, true);
    });

    test('OpenAPI is served at /docs/json and documents every catalog route', async () => {
      const res = await get('/docs/json');
      assert.equal(res.statusCode, 200);
      const paths = Object.keys(res.json().paths);
      for (const p of [
        '/api/concerts',
        '/api/concerts/{concertId}/schedules',
        '/api/concerts/{concertId}/schedules/{scheduleId}/seats/available',
        '/health/ready',
      ]) {
        assert.ok(paths.includes(p), p);
      }
      const token = res.json().paths['/api/users/{userId}/token'];
      assert.deepEqual(Object.keys(token.delete.responses).slice(0, 2), ['204', '400']);
      assert.deepEqual(
        token.get.responses['200'].content['application/json'].schema.properties.admission.enum,
        ['ADMITTED', 'MOVING', 'ESTIMATING', 'STALLED'],
      );
      assert.equal((await get('/docs')).statusCode < 400, true);
    });
  });

describe('failures of a dependency', () => {
  test('a 5xx carries the error shape and no stack trace; ready turns 503', async () => {
    const t = await makeTestApp('sqlite');
    try {
      const headers = await t.admit(1);
      await t.composition.services.database.close();
      const res = await t.app.inject({ method: 'GET', url: '/api/concerts', headers });
      assert.equal(res.statusCode, 500);
      assert.deepEqual(res.json(), { error: { code: 'INTERNAL', message: 'Internal error' } });
      assert.ok(!res.body.includes('at '), 'no stack');
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().checks[0].ok, false);
    } finally {
      await t.close().catch(() => {});
    }
  });
});
