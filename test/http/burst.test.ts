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
        // "A burst the database clears within the budget": on a shared, noisy machine this burst takes 1.5 to
        // 26 s to drain, so the budget is set where the database can meet it. Under test is that nothing
        // sheds a queue that drains, whatever its length, and that payments go first; the CoDel target and
        // interval keep their defaults.
        TR_DB_ACQUIRE_TIMEOUT_MS: '120000',
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

      // Back to ok within one sampling interval: the next sample sees no standing queue, and catalog reads pass.
      const { pressure } = t.composition.services;
      const sampled = pressure.check();
      assert.deepEqual(sampled.poolStanding, [], 'the drained queue stands no more');
      const afterwards = await t.app.inject({
        method: 'GET',
        url: '/api/concerts/1/schedules/1/seats/available',
        // A loser of the seat race is still admitted (paying ends a winner's admission).
        headers: keys.get(outcomes.find((o) => !o.won)?.userId ?? 0),
      });
      assert.equal(
        afterwards.statusCode,
        200,
        `no sticky 503 on catalog reads after the burst: ${afterwards.body}`,
      );

      const byStatus = new Map<string, number>();
      for (const a of answers) {
        const id = `${a.route} ${a.status}${a.code ? ` ${a.code}` : ''}`;
        byStatus.set(id, (byStatus.get(id) ?? 0) + 1);
      }
      const winners = outcomes.filter((o) => o.won);
      const metrics = await t.composition.services.metrics.render();
      const meanWaitMs = (cls: string) => {
        const of = (part: string) =>
          Number(
            metrics.match(new RegExp(`db_pool_wait_seconds_${part}\\{class="${cls}"\\} (\\S+)`))?.[1] ?? 0,
          );
        return Math.round((of('sum') / Math.max(1, of('count'))) * 1000);
      };
      console.log(
        `# ${dialect}: ${answers.length} requests drained in ${Math.round(drainMs)} ms, ${winners.length} holds won; ${[
          ...byStatus,
        ]
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')}; mean connection wait ${['payment', 'hold', 'top-up', 'catalog']
          .map((cls) => `${cls} ${meanWaitMs(cls)} ms`)
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
