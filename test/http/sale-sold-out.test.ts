import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { adminClient, adminEnv } from '../support/admin.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { dropQueueKeys } from '../support/redis-keys.ts';

const USERS = 5000;
const SEATS = 100;
/** Bounds the simulated sale: one round is one second of the manual clock. */
const MAX_ROUNDS = 300;

const redisUp = await serverAvailable('redis');

const stores: Array<[name: string, env: () => Record<string, string>, up: boolean]> = [
  ['memory', () => ({ TR_QUEUE: 'memory' }), true],
  [
    'redis',
    () => ({ TR_QUEUE: serverUrls.redis, TR_QUEUE_NAME: `soldout-${randomBytes(6).toString('hex')}` }),
    redisUp,
  ],
];

interface Fan {
  userId: number;
  key: string;
  nextPollAt: number;
  done: 'bought' | 'sold-out' | 'gave-up' | undefined;
  /** The first answer's place, ETA and flag. */
  issued: { position: number; etaSeconds: number | null; beyondSeats: boolean | undefined };
}

for (const [storeName, storeEnv, storeUp] of stores)
  describe(`a sale of ${SEATS} seats and ${USERS} fans on SQLite with the ${storeName} store`, {
    skip: !storeUp && `${storeName} not reachable`,
  }, () => {
    let t: TestApp;
    before(async () => {
      t = await makeTestApp('sqlite', {
        ...adminEnv,
        ...storeEnv(),
        TR_ADMIT_ADAPTIVE: 'false',
        TR_DEMO_USERS: String(USERS),
        TR_DEMO_POINTS: '1000000',
        TR_MAX_HOLDS_PER_USER: '1',
        // Token issue limits are per address; every injected request comes from 127.0.0.1.
        TR_TOKEN_RATE_PER_IP: '0',
      });
    });
    after(async () => {
      await t?.close();
      // The Redis keys of this app's rooms go too, so runs leave nothing behind.
      if (t && t.config.queue === serverUrls.redis) await dropQueueKeys(t.config.queueName);
    });
    const admin = adminClient(() => t);

    test('every seat is sold, the rest see SOLD_OUT at their first poll after the last sale, nobody is admitted after it', async () => {
      const concert = (await admin('POST', '/concerts', { title: 'Big', artist: 'A', venue: 'V' })).json();
      const schedule = (
        await admin('POST', `/concerts/${concert.id}/schedules`, { startsAt: '2027-05-01T19:00:00Z' })
      ).json();
      const seats = Array.from({ length: SEATS }, (_, k) => String(k + 1));
      const imported = await admin('PUT', `/schedules/${schedule.id}/seat-map`, {
        sections: [{ name: 'Floor', price: 1000, rows: [{ label: 'A', seats }] }],
      });
      assert.equal(imported.statusCode, 200, imported.body);
      await admin('POST', `/concerts/${concert.id}/publish`);
      await admin('POST', `/schedules/${schedule.id}/publish`);
      const sale = (
        await admin('POST', '/sales', { name: 'big', scheduleIds: [schedule.id], admitPerSecond: 50 })
      ).json();
      const saleId: number = sale.saleId;
      const rooms = t.composition.services.saleRooms;

      const fans: Fan[] = [];
      for (let from = 1; from <= USERS; from += 250) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(250, USERS - from + 1) }, async (_, k) => {
            const userId = from + k;
            const r = await t.app.inject({
              method: 'POST',
              url: `/api/sales/${saleId}/users/${userId}/token`,
            });
            assert.equal(r.statusCode, 200, r.body);
            const body = r.json();
            return {
              userId,
              key: body.accessKey,
              nextPollAt: t.clock.now() + body.pollAfterMs,
              done: undefined,
              issued: { position: body.position, etaSeconds: body.etaSeconds, beyondSeats: body.beyondSeats },
            };
          }),
        );
        fans.push(...batch);
      }

      // Nobody admitted yet, 100 seats free, overbook 1.25: the first 125 places get an ETA, the others are told
      // that the seats left are fewer than the fans ahead (no ETA: the sale will likely sell out first).
      const served = Math.ceil(SEATS * 1.25);
      for (const f of fans) {
        assert.equal(f.issued.beyondSeats, f.issued.position > served, `place ${f.issued.position}`);
        assert.equal(f.issued.etaSeconds === null, f.issued.position > served, `place ${f.issued.position}`);
      }

      let nextSeat = 1;
      let sold = 0;
      /** Operations in order: a poll after the last sale must answer SOLD_OUT. */
      let soldOutSince: number | undefined;
      let activeAfterSoldOut = 0;
      let notSoldOutAfterLastSale = 0;
      const buy = async (fan: Fan) => {
        const headers = { authorization: fan.key };
        if (nextSeat > SEATS) {
          fan.done = 'gave-up';
          await t.app.inject({
            method: 'DELETE',
            url: `/api/sales/${saleId}/users/${fan.userId}/token`,
            headers,
          });
          return;
        }
        const seatId = nextSeat++;
        const hold = await t.app.inject({
          method: 'POST',
          url: '/api/reservations',
          headers,
          payload: { userId: fan.userId, concertScheduleId: schedule.id, seatId },
        });
        assert.equal(hold.statusCode, 200, hold.body);
        const paid = await t.app.inject({
          method: 'POST',
          url: '/api/payments',
          headers,
          payload: { userId: fan.userId, reservationId: hold.json().reservationId },
        });
        assert.equal(paid.statusCode, 200, paid.body);
        fan.done = 'bought';
        sold++;
        if (sold === SEATS) soldOutSince = t.clock.now();
      };

      for (let round = 0; round < MAX_ROUNDS && fans.some((f) => !f.done); round++) {
        t.clock.advance(1000);
        await rooms.tick();
        const due = fans.filter((f) => !f.done && f.nextPollAt <= t.clock.now());
        for (const fan of due) {
          const r = await t.app.inject({
            method: 'GET',
            url: `/api/sales/${saleId}/users/${fan.userId}/token`,
            headers: { authorization: fan.key },
          });
          assert.equal(r.statusCode, 200, r.body);
          const ticket = r.json();
          fan.nextPollAt = t.clock.now() + ticket.pollAfterMs;
          if (soldOutSince !== undefined) {
            if (ticket.status === 'ACTIVE') activeAfterSoldOut++;
            if (ticket.status !== 'SOLD_OUT') notSoldOutAfterLastSale++;
          }
          if (ticket.status === 'SOLD_OUT') {
            assert.ok(ticket.order >= 1);
            fan.done = 'sold-out';
          } else if (ticket.status === 'ACTIVE') await buy(fan);
        }
      }

      assert.equal(sold, SEATS);
      assert.equal(
        notSoldOutAfterLastSale,
        0,
        'a poll after the last sale answered something else than SOLD_OUT',
      );
      assert.equal(activeAfterSoldOut, 0);
      assert.equal(fans.filter((f) => !f.done).length, 0, 'everyone got an answer within the rounds');
      const counts = fans.reduce<Record<string, number>>((m, f) => {
        m[f.done!] = (m[f.done!] ?? 0) + 1;
        return m;
      }, {});
      assert.equal(counts.bought, SEATS);
      assert.equal((counts['sold-out'] ?? 0) + (counts['gave-up'] ?? 0), USERS - SEATS);

      const watched = (await admin('GET', `/sales/${saleId}`)).json();
      assert.equal(watched.status, 'SOLD_OUT');
      assert.equal(watched.counters.sold, SEATS);
      assert.equal(watched.counters.revenue, SEATS * 1000);
      // Admission stays shut: more steps admit nobody, and a newcomer is refused at once.
      const admitted = watched.counters.admittedTotal;
      assert.ok(admitted <= Math.ceil(SEATS * 1.25) + SEATS, `admitted ${admitted}`);
      for (let k = 0; k < 5; k++) {
        t.clock.advance(1000);
        await rooms.tick();
      }
      assert.equal((await admin('GET', `/sales/${saleId}`)).json().counters.admittedTotal, admitted);
      const late = await t.app.inject({ method: 'POST', url: `/api/sales/${saleId}/users/1/token` });
      assert.equal(late.statusCode, 409);
      assert.equal(late.json().error.code, 'SALE_SOLD_OUT');
      // Seats coming back (here: the operator adds two) reopen the sale within a second: the first fan still in
      // line (told SOLD_OUT, not yet gone for idling) is admitted again, and joining is possible again.
      const more = await admin('PUT', `/schedules/${schedule.id}/seat-map`, {
        sections: [{ name: 'Floor', price: 1000, rows: [{ label: 'A', seats: [...seats, '101', '102'] }] }],
      });
      assert.equal(more.statusCode, 200, more.body);
      const waiter = fans.find((f) => f.done === 'sold-out')!;
      const rejoin = () =>
        t.app.inject({ method: 'POST', url: `/api/sales/${saleId}/users/${waiter.userId}/token` });
      assert.equal(
        (await rejoin()).statusCode,
        409,
        'seat counts are read at most once a second, not per request',
      );
      t.clock.advance(1000);
      await rooms.tick();
      assert.equal((await admin('GET', `/sales/${saleId}`)).json().status, 'OPEN');
      t.clock.advance(1000);
      await rooms.tick();
      const back = await rejoin();
      assert.equal(back.statusCode, 200, back.body);
      assert.equal(back.json().status, 'ACTIVE');
      console.log(
        `# ${storeName}: ${USERS} fans, ${SEATS} seats: ${admitted} admitted in all, ${counts['gave-up'] ?? 0} admitted too late for a seat`,
      );
    });
  });
