import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries())
  describe(`reservations, points and payments over HTTP on ${dialect}`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    let t: TestApp;
    before(async () => {
      t = await makeTestApp(dialect);
    });
    after(async () => t?.close());

    const call = async (
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      userId: number,
      body?: unknown,
      extra: Record<string, string> = {},
    ) => {
      const headers = { ...(await t.admit(userId)), ...extra };
      return t.app.inject({
        method,
        url,
        headers,
        ...(body === undefined ? {} : { payload: body as object }),
      });
    };

    test('the seed client flow: hold, charge, pay, and the seat is gone', async () => {
      // Read first, so the process keeps a copy of the map: its own hold and sale must show in it at once.
      const map = async () => (await call('GET', '/api/concerts/1/schedules/1/seats/available', 1)).json();
      assert.ok((await map()).seats.some((s: { id: number }) => s.id === 3));
      const hold = await call('POST', '/api/reservations', 1, { userId: 1, concertScheduleId: 1, seatId: 3 });
      assert.equal(hold.statusCode, 200, hold.body);
      const r = hold.json();
      assert.equal(r.status, 'HELD');
      assert.equal(r.concertScheduleId, 1);
      assert.ok(Date.parse(r.expiresAt) > t.clock.now());
      assert.ok(r.price > 0);

      const held = await map();
      assert.ok(!held.seats.some((s: { id: number }) => s.id === 3));
      assert.ok(held.held.includes(3));

      const poor = await call('POST', '/api/payments', 1, { userId: 1, reservationId: r.reservationId });
      assert.equal(poor.statusCode, 409);
      assert.equal(poor.json().error.code, 'INSUFFICIENT_POINTS');

      const charged = await call('POST', '/api/users/1/points/charge', 1, { amount: 1_000_000 });
      assert.deepEqual(charged.json(), { userId: 1, balance: 1_000_000 });
      assert.deepEqual((await call('GET', '/api/users/1/points', 1)).json(), {
        userId: 1,
        balance: 1_000_000,
      });

      const paid = await call('POST', '/api/payments', 1, { userId: 1, reservationId: r.reservationId });
      assert.equal(paid.statusCode, 200, paid.body);
      assert.equal(paid.json().amount, r.price);
      assert.equal(paid.json().balance, 1_000_000 - r.price);
      assert.equal(paid.json().status, 'CONFIRMED');
      const sold = await map();
      assert.deepEqual([sold.held.includes(3), sold.sold.includes(3)], [false, true]);

      const again = await call('POST', '/api/payments', 1, { userId: 1, reservationId: r.reservationId });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().error.code, 'ALREADY_PAID');
    });

    test("booking routes need the named user's admitted key; a payment frees the slot at once", async () => {
      const body = { userId: 7, concertScheduleId: 11, seatId: 9 };
      const none = await t.app.inject({ method: 'POST', url: '/api/reservations', payload: body });
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error.code, 'TOKEN_MISSING');
      const someoneElse = await t.admit(8);
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/api/reservations',
        payload: body,
        headers: someoneElse,
      });
      assert.equal(wrong.statusCode, 403);
      assert.equal(wrong.json().error.code, 'TOKEN_NOT_YOURS');
      const points = await t.app.inject({ method: 'GET', url: '/api/users/7/points', headers: someoneElse });
      assert.equal(points.statusCode, 403);

      const mine = await t.admit(7);
      const room = t.composition.services.waitingRoom;
      const hold = await t.app.inject({
        method: 'POST',
        url: '/api/reservations',
        payload: body,
        headers: mine,
      });
      assert.equal(hold.statusCode, 200, hold.body);
      await t.app.inject({
        method: 'POST',
        url: '/api/users/7/points/charge',
        payload: { amount: 500_000 },
        headers: mine,
      });
      const activeBefore = (await room.counts()).active;
      const paid = await t.app.inject({
        method: 'POST',
        url: '/api/payments',
        payload: { userId: 7, reservationId: hold.json().reservationId },
        headers: mine,
      });
      assert.equal(paid.statusCode, 200, paid.body);
      assert.equal((await room.counts()).active, activeBefore - 1, 'the slot is free for the next in line');
      const afterwards = await t.app.inject({ method: 'GET', url: '/api/users/7/points', headers: mine });
      assert.equal(afterwards.statusCode, 401);
      assert.equal(afterwards.json().error.code, 'TOKEN_EXPIRED');
    });

    test('a seat someone holds is a 409 SEAT_ALREADY_RESERVED, not a 500', async () => {
      assert.equal(
        (await call('POST', '/api/reservations', 2, { userId: 2, concertScheduleId: 2, seatId: 1 }))
          .statusCode,
        200,
      );
      const lost = await call('POST', '/api/reservations', 3, { userId: 3, concertScheduleId: 2, seatId: 1 });
      assert.equal(lost.statusCode, 409);
      assert.equal(lost.json().error.code, 'SEAT_ALREADY_RESERVED');
    });

    test('unknown schedule or seat is 404; invalid bodies are 400 and change nothing', async () => {
      const missing = await call('POST', '/api/reservations', 4, {
        userId: 4,
        concertScheduleId: 999,
        seatId: 1,
      });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error.code, 'SCHEDULE_NOT_FOUND');
      const noSeat = await call('POST', '/api/reservations', 4, {
        userId: 4,
        concertScheduleId: 3,
        seatId: 11,
      });
      assert.equal(noSeat.statusCode, 404);
      assert.equal(noSeat.json().error.code, 'SEAT_NOT_FOUND');
      for (const body of [
        {},
        { userId: 4, concertScheduleId: 3 },
        { userId: 4, concertScheduleId: 'x', seatId: 1 },
        { userId: 4, concertScheduleId: 3, seatId: -1 },
        { userId: 4, concertScheduleId: 3, seatId: 1, extra: true },
      ]) {
        const res = await call('POST', '/api/reservations', 4, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().error.code, 'VALIDATION_FAILED');
      }
      assert.equal(
        (await call('GET', '/api/concerts/1/schedules', 4)).json().schedules[2].availableSeats,
        10,
      );
    });

    test('charge amounts outside 1..1,000,000 are 400 and the balance stays', async () => {
      for (const amount of [0, -1, 1_000_001, 1.5, 'ten', null]) {
        const res = await call('POST', '/api/users/5/points/charge', 5, { amount });
        assert.equal(res.statusCode, 400, String(amount));
        assert.equal(res.json().error.code, 'VALIDATION_FAILED');
      }
      assert.equal((await call('GET', '/api/users/5/points', 5)).json().balance, 0);
      const unknown = await call('GET', '/api/users/abc/points', 5);
      assert.equal(unknown.statusCode, 400);
    });

    test('owners read, list and release their holds; others get 403', async () => {
      const map = async () => (await call('GET', '/api/concerts/1/schedules/4/seats/available', 6)).json();
      assert.ok(!(await map()).held.includes(2));
      const r = (
        await call('POST', '/api/reservations', 6, { userId: 6, concertScheduleId: 4, seatId: 2 })
      ).json();
      assert.ok((await map()).held.includes(2), "this process's hold shows in its seat map at once");
      const got = await call('GET', `/api/reservations/${r.reservationId}`, 6);
      assert.equal(got.statusCode, 200);
      assert.equal(got.json().seatId, 2);
      const list = await call('GET', '/api/users/6/reservations', 6);
      assert.equal(list.json().reservations[0].reservationId, r.reservationId);
      const other = await call('GET', `/api/reservations/${r.reservationId}`, 7);
      assert.equal(other.statusCode, 403);
      assert.equal(other.json().error.code, 'NOT_RESERVATION_OWNER');
      const released = await call('DELETE', `/api/reservations/${r.reservationId}`, 6);
      assert.equal(released.statusCode, 200);
      assert.equal(released.json().status, 'RELEASED');
      assert.ok(
        (await map()).seats.some((s: { id: number }) => s.id === 2),
        'and a seat it frees is free in the map at once',
      );
      const twice = await call('DELETE', `/api/reservations/${r.reservationId}`, 6);
      assert.equal(twice.statusCode, 409);
      assert.equal(twice.json().error.code, 'RESERVATION_NOT_HELD');
      assert.equal(
        (await call('GET', '/api/reservations/0190d0c0-0000-7000-8000-000000000000', 6)).statusCode,
        404,
      );
      assert.equal((await call('GET', '/api/reservations/not-a-uuid!', 6)).statusCode, 400);
    });

    test('a hold that lapsed cannot be paid: 409 RESERVATION_EXPIRED', async () => {
      const r = (
        await call('POST', '/api/reservations', 8, { userId: 8, concertScheduleId: 5, seatId: 5 })
      ).json();
      await call('POST', '/api/users/8/points/charge', 8, { amount: 1_000_000 });
      t.clock.advance(t.config.holdTtlSeconds * 1000);
      const res = await call('POST', '/api/payments', 8, { userId: 8, reservationId: r.reservationId });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().error.code, 'RESERVATION_EXPIRED');
      assert.equal((await call('GET', '/api/users/8/points', 8)).json().balance, 1_000_000);
    });

    test('Idempotency-Key: same body replays, different body is 422', async () => {
      const key = { 'idempotency-key': 'charge-9-a' };
      const first = await call('POST', '/api/users/9/points/charge', 9, { amount: 700 }, key);
      const second = await call('POST', '/api/users/9/points/charge', 9, { amount: 700 }, key);
      assert.equal(first.statusCode, 200);
      assert.deepEqual(second.json(), first.json());
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.equal((await call('GET', '/api/users/9/points', 9)).json().balance, 700);
      const reused = await call('POST', '/api/users/9/points/charge', 9, { amount: 800 }, key);
      assert.equal(reused.statusCode, 422);
      assert.equal(reused.json().error.code, 'IDEMPOTENCY_KEY_REUSED');

      const holdKey = { 'idempotency-key': 'hold-9' };
      const h1 = await call(
        'POST',
        '/api/reservations',
        9,
        { userId: 9, concertScheduleId: 6, seatId: 6 },
        holdKey,
      );
      const h2 = await call(
        'POST',
        '/api/reservations',
        9,
        { userId: 9, concertScheduleId: 6, seatId: 6 },
        holdKey,
      );
      assert.equal(h2.statusCode, 200, 'a retried hold is not a lost race');
      assert.equal(h2.json().reservationId, h1.json().reservationId);
    });
    const post = (url: string, headers: Record<string, string>, payload: object) =>
      t.app.inject({ method: 'POST', url, headers, payload });

    test('a payment retried with its Idempotency-Key after success gets its receipt, though paying freed the slot', async () => {
      const user = 30;
      const auth = await t.admit(user);
      const held = await post('/api/reservations', auth, { userId: user, concertScheduleId: 10, seatId: 1 });
      assert.equal(held.statusCode, 200, held.body);
      const r = held.json();
      await post(`/api/users/${user}/points/charge`, auth, { amount: r.price });
      const body = { userId: user, reservationId: r.reservationId };
      const keyed = { ...auth, 'idempotency-key': 'pay-30' };
      const paid = await post('/api/payments', keyed, body);
      assert.equal(paid.statusCode, 200, paid.body);
      const retried = await post('/api/payments', keyed, body);
      assert.equal(retried.statusCode, 200, retried.body);
      assert.deepEqual(retried.json(), paid.json());
      assert.equal(retried.headers['idempotent-replayed'], 'true');

      // Past the gate the receipt goes only to the credential that paid, and only for the same request.
      const stranger = await t.admit(31);
      for (const headers of [{ 'idempotency-key': 'pay-30' }, { ...stranger, 'idempotency-key': 'pay-30' }]) {
        const res = await post('/api/payments', headers, body);
        assert.ok([401, 403].includes(res.statusCode), res.body);
        assert.equal(res.headers['idempotent-replayed'], undefined);
      }
      const otherRequest = await post('/api/payments', keyed, {
        ...body,
        reservationId: '0190d0c0-0000-7000-8000-00000000000a',
      });
      assert.equal(otherRequest.json().error?.code, 'TOKEN_EXPIRED');
      const withoutKey = await post('/api/payments', auth, body);
      assert.equal(withoutKey.json().error?.code, 'TOKEN_EXPIRED', 'everything else still meets the gate');
      assert.equal((await call('GET', `/api/users/${user}/points`, user)).json().balance, 0, 'paid once');
    });

    test('a payment stands when freeing the waiting-room slot fails after it: 200, never a 5xx', async () => {
      const room = t.composition.services.waitingRoom;
      const user = 32;
      const auth = await t.admit(user);
      const r = (
        await post('/api/reservations', auth, { userId: user, concertScheduleId: 10, seatId: 2 })
      ).json();
      await post(`/api/users/${user}/points/charge`, auth, { amount: r.price });
      const releaseUser = room.releaseUser;
      room.releaseUser = async () => {
        throw new Error('Redis is down');
      };
      let paid: Awaited<ReturnType<typeof post>>;
      try {
        paid = await post(
          '/api/payments',
          { ...auth, 'idempotency-key': 'pay-32' },
          {
            userId: user,
            reservationId: r.reservationId,
          },
        );
      } finally {
        room.releaseUser = releaseUser;
      }
      assert.equal(paid.statusCode, 200, paid.body);
      assert.equal(paid.json().status, 'CONFIRMED');
      const again = await post(
        '/api/payments',
        { ...auth, 'idempotency-key': 'pay-32' },
        {
          userId: user,
          reservationId: r.reservationId,
        },
      );
      assert.deepEqual(again.json(), paid.json());
    });

    test('a user holds at most TR_MAX_HOLDS_PER_USER seats (409 HOLD_LIMIT_REACHED); unknown users hold and charge nothing (404)', async () => {
      const user = 33;
      const auth = await t.admit(user);
      const limit = t.config.maxHoldsPerUser;
      for (let seat = 1; seat <= limit; seat++) {
        const res = await post('/api/reservations', auth, {
          userId: user,
          concertScheduleId: 11,
          seatId: seat,
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      const over = await post('/api/reservations', auth, {
        userId: user,
        concertScheduleId: 11,
        seatId: limit + 1,
      });
      assert.equal(over.statusCode, 409, over.body);
      assert.equal(over.json().error.code, 'HOLD_LIMIT_REACHED');
      assert.equal(over.json().error.details?.limit, limit);

      const ghost = 999;
      const ghostAuth = await t.admit(ghost);
      const hold = await post('/api/reservations', ghostAuth, {
        userId: ghost,
        concertScheduleId: 12,
        seatId: 1,
      });
      assert.equal(hold.statusCode, 404, hold.body);
      assert.equal(hold.json().error.code, 'USER_NOT_FOUND');
      const charge = await post(`/api/users/${ghost}/points/charge`, ghostAuth, { amount: 5 });
      assert.equal(charge.statusCode, 404, charge.body);
      assert.equal(charge.json().error.code, 'USER_NOT_FOUND');
      const seats = (await call('GET', '/api/concerts/3/schedules/12/seats/available', 1)).json().seats;
      assert.equal(seats.length, 10, 'nothing was held');
    });
  });
