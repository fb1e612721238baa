import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

const USERS = 300;
/** Two users race for each seat of schedule 1: half of them win a hold. */
const SEATS = USERS / 2;
const TOP_UP = 500_000;

interface Answer {
  route: string;
  status: number;
  code?: string;
}

for (const [i, dialect] of DIALECTS.entries())
  describe(`a burst of ${USERS} admitted users on ${dialect} (pool 10)`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    let t: TestApp;
    before(async () => {
      t = await makeTestApp(dialect, {
        TR_DEMO_USERS: String(USERS),
        TR_DEMO_SEATS: String(SEATS),
        TR_DB_POOL_MAX: '10',
        ...(process.env.BURST_ENV ? JSON.parse(process.env.BURST_ENV) : {}),
      });
      // The overload guard samples on its real timer, as in production.
      t.composition.start();
    });
    after(async () => t?.close());

    test('each fires a top-up, a catalog read, a hold and two payments at once: no 5xx, every winner pays once, ledgers reconcile', async () => {
      const keys = new Map<number, Record<string, string>>();
      for (let u = 1; u <= USERS; u++) keys.set(u, await t.admit(u));
      const answers: Answer[] = [];
      const call = async (
        route: string,
        method: 'GET' | 'POST',
        url: string,
        userId: number,
        body?: object,
      ) => {
        const res = await t.app.inject({
          method,
          url,
          headers: keys.get(userId),
          ...(body && { payload: body }),
        });
        const code =
          res.statusCode >= 400 ? (res.json() as { error?: { code?: string } }).error?.code : undefined;
        answers.push({ route, status: res.statusCode, code });
        return res;
      };

      const started = performance.now();
      const flows = Array.from({ length: USERS }, async (_, n) => {
        const userId = n + 1;
        const seatId = (n % SEATS) + 1;
        const [topUp, hold] = await Promise.all([
          call('charge', 'POST', `/api/users/${userId}/points/charge`, userId, { amount: TOP_UP }),
          call('hold', 'POST', '/api/reservations', userId, { userId, concertScheduleId: 1, seatId }),
          call('catalog', 'GET', '/api/concerts/1/schedules/1/seats/available', userId),
        ]);
        if (hold.statusCode !== 200)
          return { userId, won: false, toppedUp: topUp.statusCode === 200, paid: 0 };
        const { reservationId } = hold.json() as { reservationId: string };
        const payments = await Promise.all([
          call('payment', 'POST', '/api/payments', userId, { userId, reservationId }),
          call('payment', 'POST', '/api/payments', userId, { userId, reservationId }),
        ]);
        return {
          userId,
          won: true,
          toppedUp: topUp.statusCode === 200,
          paid: payments.filter((p) => p.statusCode === 200).length,
        };
      });
      const outcomes = await Promise.all(flows);
      const drainMs = performance.now() - started;

      const byStatus = new Map<string, number>();
      for (const a of answers) {
        const id = `${a.route} ${a.status}${a.code ? ` ${a.code}` : ''}`;
        byStatus.set(id, (byStatus.get(id) ?? 0) + 1);
      }
      const winners = outcomes.filter((o) => o.won);
      console.log(
        `# ${dialect}: ${answers.length} requests in ${Math.round(drainMs)} ms, ${winners.length} holds won; ${[
          ...byStatus,
        ]
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')}`,
      );

      const serverErrors = answers.filter((a) => a.status >= 500);
      assert.deepEqual(serverErrors, [], 'a burst the database clears costs no 5xx');
      assert.equal(winners.length, SEATS, 'every seat is held by exactly one of its two racers');
      for (const o of winners) {
        assert.ok(o.toppedUp, `user ${o.userId} topped up`);
        assert.equal(o.paid, 1, `user ${o.userId} won a seat, topped up and paid exactly once`);
      }
      const duplicate = answers.filter((a) => a.route === 'payment' && a.status !== 200);
      assert.equal(duplicate.length, SEATS);
      for (const d of duplicate)
        assert.ok(
          (d.status === 409 && d.code === 'ALREADY_PAID') ||
            // Paying frees the user's waiting-room slot, so a duplicate checked after it meets an expired key.
            (d.status === 401 && d.code === 'TOKEN_EXPIRED'),
          `the second payment is refused as a duplicate, got ${d.status} ${d.code}`,
        );

      const db = t.composition.services.database.db;
      const paymentsPerReservation = await db
        .selectFrom('payments')
        .select(['reservation_id', sql<number>`count(*)`.as('n')])
        .groupBy('reservation_id')
        .execute();
      assert.equal(paymentsPerReservation.length, SEATS);
      assert.ok(
        paymentsPerReservation.every((p) => Number(p.n) === 1),
        'one payment per reservation',
      );
      const wallets = await db.selectFrom('point_wallets').select(['user_id', 'balance']).execute();
      const ledger = await db
        .selectFrom('point_ledger')
        .select(['user_id', sql<number>`sum(delta)`.as('sum')])
        .groupBy('user_id')
        .execute();
      const ledgerOf = new Map(ledger.map((l) => [Number(l.user_id), Number(l.sum)]));
      for (const w of wallets)
        assert.equal(w.balance, ledgerOf.get(w.user_id) ?? 0, `wallet ${w.user_id} equals its ledger`);
    });
  });
