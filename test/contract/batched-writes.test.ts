// Holds in batches (MariaDB's migration 0015, PostgreSQL's statement in booking-writes.ts) and MariaDB's payments
// in batches (migration 0016), src/db/batched-calls.ts: writes arriving together are written by one call, and
// each is answered as it would be alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { batchStats } from '../../src/db/batched-calls.ts';
import { HOLDS, PAYMENTS, USER_HOLDS_LOCK_SPACE } from '../../src/db/booking-writes.ts';
import { holdFreeSeats } from '../../src/db/migrations/0015-hold-batches.ts';
import type { Reservation } from '../../src/domain/booking/model.ts';
import { holdPaymentOf } from '../../src/domain/booking/payments.ts';
import { newId } from '../../src/domain/ids.ts';
import { bookingOn, HOLD_TTL_SECONDS, MAX_HOLDS_PER_USER } from '../support/booking.ts';
import { createTestDatabase, dialectAvailable, type TestDatabase } from '../support/databases.ts';

type Settled = PromiseSettledResult<unknown>;
const outcome = (r: Settled) =>
  r.status === 'fulfilled' ? 'ok' : String((r.reason as { code?: string }).code ?? r.reason);
const tally = (results: Settled[]) => {
  const counts: Record<string, number> = {};
  for (const r of results) counts[outcome(r)] = (counts[outcome(r)] ?? 0) + 1;
  return counts;
};

// The first writes find the database idle and go alone, BUSY of them: these fillers go first, and wait in the
// database on a lock the test holds (Locker), so the writes a test looks at arrive while the database is busy
// and go together once the lock is let go. A filler is a hold of one of seats 1-4 of schedule 99, held in
// `before` (a lost race), or a payment of a reservation that does not exist there (not held).
const FILLERS = [96, 97, 98, 99];

/** The test's own connection, holding what the fillers wait on: the claims (MariaDB), the users' locks (PostgreSQL). */
interface Locker {
  lock(): Promise<void>;
  release(): Promise<void>;
  end(): Promise<void>;
}

async function lockerOn(dialect: 'mysql' | 'postgres', url: string): Promise<Locker> {
  if (dialect === 'mysql') {
    const c = await createConnection(url);
    return {
      async lock() {
        await c.query('start transaction');
        await c.query(
          'select 1 from seat_claims where schedule_id = 99 and seat_id in (1, 2, 3, 4) for update',
        );
      },
      release: async () => void (await c.query('commit')),
      end: () => c.end(),
    };
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return {
    async lock() {
      await c.query('begin');
      await c.query('select pg_advisory_xact_lock($1, u) from unnest($2::int[]) as u', [
        USER_HOLDS_LOCK_SPACE,
        FILLERS,
      ]);
    },
    release: async () => void (await c.query('commit')),
    end: () => c.end(),
  };
}

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`holds and payments in batches on ${dialect}`, async () => {
    const available = await dialectAvailable(dialect);
    const skip = !available && `${dialect} not reachable`;
    // Payments go in batches only where MariaDB's procedure runs; the wallet keeps a bound of live holds there too.
    const procedures = dialect === 'mysql';
    /** A test of MariaDB's procedures, registered only there. */
    const procedureTest = procedures ? test : () => {};
    let t: TestDatabase;
    let b: Awaited<ReturnType<typeof bookingOn>>;
    let locker: Locker;
    before(async () => {
      if (!available) return;
      t = await createTestDatabase(dialect, { max: 10, acquireTimeoutMs: 30_000 });
      b = await bookingOn(t.database);
      for (const seatId of [1, 2, 3, 4]) await b.reservations.hold({ userId: 95, scheduleId: 99, seatId });
      locker = await lockerOn(dialect, t.url);
    });
    after(async () => {
      await locker?.end();
      await t?.drop();
    });

    const batchesSent = () => batchStats(t.database, HOLDS)?.batches ?? 0;
    const paymentBatches = () => ({ batches: 0, again: 0, ...batchStats(t.database, PAYMENTS) });
    const fillerHolds = FILLERS.map(
      (userId, i) => () => b.reservations.hold({ userId, scheduleId: 99, seatId: i + 1 }),
    );
    const fillerPayments = FILLERS.map(
      (userId, i) => () =>
        b.store.payForHold(
          holdPaymentOf({ id: newId(), price: 1, scheduleId: 99, seatId: i + 1 }, userId, b.clock.now()),
        ),
    );
    const turns = async (until: () => boolean, what: string) => {
      for (let n = 0; !until(); n++) {
        assert.ok(n < 10_000, what);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    /** The fillers, then `writes` while the fillers wait on the test's lock; settles them all. */
    const afterFillers = async <T>(
      kind: string,
      fillers: (() => Promise<unknown>)[],
      writes: () => Promise<T>[],
    ) => {
      const stats = () => ({ alone: 0, waiting: 0, ...batchStats(t.database, kind) });
      await locker.lock();
      const started: Promise<unknown>[] = [];
      let settled: Promise<PromiseSettledResult<T>[]>;
      try {
        // One at a time, so each goes alone and takes one of the BUSY places.
        for (const filler of fillers) {
          const goal = stats().alone + 1;
          started.push(filler().catch(() => {}));
          await turns(() => stats().alone >= goal, 'the filler went to the database');
        }
        settled = Promise.allSettled(writes());
        // Until the writes that reach the store have all reached it: the line stops growing.
        let last = -1;
        let still = 0;
        await turns(() => {
          const { waiting } = stats();
          still = waiting === last ? still + 1 : 0;
          last = waiting;
          return still >= 50;
        }, 'the writes reached the store');
      } finally {
        await locker.release();
      }
      await Promise.all(started);
      return settled;
    };
    const payAll = (payments: () => Promise<unknown>[]) => afterFillers(PAYMENTS, fillerPayments, payments);
    const holdAll = (holds: Array<[userId: number, scheduleId: number, seatId: number]>) =>
      afterFillers(HOLDS, fillerHolds, () =>
        holds.map(([userId, scheduleId, seatId]) => b.reservations.hold({ userId, scheduleId, seatId })),
      );
    const wallet = (userId: number) =>
      t.database.db
        .selectFrom('point_wallets')
        .select(['hold_bound', 'hold_until'] as never[])
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow() as Promise<{ hold_bound: number; hold_until: number }>;
    const liveHolds = async (userId: number) =>
      (
        await t.database.db
          .selectFrom('seat_claims')
          .select('seat_id')
          .where('user_id', '=', userId)
          .where('status', '=', 'HELD')
          .where('expires_at', '>', b.clock.now())
          .execute()
      ).length;

    test('holds arriving together go in one call and write what a hold alone writes', { skip }, async () => {
      const alone = await b.reservations.hold({ userId: 1, scheduleId: 10, seatId: 1 });
      const before = batchesSent();
      const results = await holdAll(Array.from({ length: 40 }, (_, i) => [i + 2, 10, i + 2]));
      assert.deepEqual(tally(results), { ok: 40 });
      assert.ok(batchesSent() > before, 'the holds went in a batch');
      const held = results.map((r) => (r as PromiseFulfilledResult<{ id: string; price: number }>).value);
      const rows = async (id: string) => {
        const reservation = await t.database.db
          .selectFrom('reservations')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        const claim = await t.database.db
          .selectFrom('seat_claims')
          .selectAll()
          .where('reservation_id', '=', id)
          .executeTakeFirstOrThrow();
        const events = await t.database.db
          .selectFrom('outbox')
          .selectAll()
          .where('aggregate_id', '=', id)
          .execute();
        assert.equal(events.length, 1);
        const { seq: _seq, event_id: _eventId, ...event } = events[0];
        return { reservation, claim, event: { ...event, payload: JSON.parse(event.payload) } };
      };
      // A batched hold's rows are a lone hold's, but for the user, seat, price (the seat's tier) and ids.
      const like = (
        r: Awaited<ReturnType<typeof rows>>,
        userId: number,
        seatId: number,
        id: string,
        price: number,
      ) => ({
        reservation: { ...r.reservation, id, user_id: userId, seat_id: seatId, price },
        claim: { ...r.claim, reservation_id: id, user_id: userId, seat_id: seatId },
        event: {
          ...r.event,
          aggregate_id: id,
          payload: { ...r.event.payload, reservationId: id, userId, seatId, price },
        },
      });
      const template = await rows(alone.id);
      assert.equal(
        template.reservation.expires_at,
        template.reservation.created_at + HOLD_TTL_SECONDS * 1000,
      );
      for (const [i, h] of held.entries()) {
        const got = await rows(h.id);
        assert.deepEqual(got, like(template, i + 2, i + 2, h.id, h.price));
        if (procedures) assert.equal((await wallet(i + 2)).hold_bound, 1);
      }
    });

    test("a user's bound decides in a batch: holds within the limit are written, past it the exact path answers", {
      skip,
    }, async () => {
      await b.reservations.hold({ userId: 50, scheduleId: 11, seatId: 1 });
      await b.reservations.hold({ userId: 50, scheduleId: 11, seatId: 2 });
      let before = batchesSent();
      // 2 held + 2 in the batch: within the limit of 4.
      let results = await holdAll([
        [50, 11, 3],
        [50, 11, 4],
        [51, 11, 5],
        [52, 11, 6],
        [53, 11, 7],
      ]);
      assert.deepEqual(tally(results), { ok: 5 });
      assert.ok(batchesSent() > before);
      if (procedures) assert.equal((await wallet(50)).hold_bound, MAX_HOLDS_PER_USER);
      assert.equal(await liveHolds(50), MAX_HOLDS_PER_USER);
      // One more: past the limit, refused.
      results = await holdAll([
        [50, 11, 8],
        [54, 11, 9],
        [55, 11, 10],
      ]);
      assert.deepEqual(results.map(outcome), ['HOLD_LIMIT_REACHED', 'ok', 'ok']);
      assert.equal(await liveHolds(50), MAX_HOLDS_PER_USER);
      // 2 held + 3 in one batch would pass the limit: none goes in the batch, the exact path holds 2 of them.
      await b.reservations.hold({ userId: 56, scheduleId: 12, seatId: 1 });
      await b.reservations.hold({ userId: 56, scheduleId: 12, seatId: 2 });
      before = batchesSent();
      results = await holdAll([
        [56, 12, 3],
        [56, 12, 4],
        [56, 12, 5],
        [57, 12, 6],
        [58, 12, 7],
      ]);
      assert.deepEqual(tally(results), { ok: 4, HOLD_LIMIT_REACHED: 1 });
      assert.ok(batchesSent() > before);
      assert.equal(await liveHolds(56), MAX_HOLDS_PER_USER);
      assert.equal(await liveHolds(57), 1);
    });

    test('in a batch, an unknown user is USER_NOT_FOUND, one seat asked twice goes once, a lapsed claim is taken over', {
      skip,
    }, async () => {
      await b.reservations.hold({ userId: 60, scheduleId: 13, seatId: 1 });
      b.clock.advance((HOLD_TTL_SECONDS + 1) * 1000);
      const before = batchesSent();
      const results = await holdAll([
        [99_999, 13, 2],
        [61, 13, 3],
        [62, 13, 3],
        [63, 13, 1],
        [64, 13, 4],
      ]);
      assert.ok(batchesSent() > before);
      const [unknown, first, second, takeover, other] = results.map(outcome);
      assert.equal(unknown, 'USER_NOT_FOUND');
      assert.deepEqual([first, second].sort(), ['SEAT_ALREADY_RESERVED', 'ok']);
      assert.equal(takeover, 'ok');
      assert.equal(other, 'ok');
      assert.equal((await b.store.findClaim(13, 1))?.userId, 63);
      assert.equal((await b.store.findClaim(13, 2)) ?? null, null);
      const reservations = await t.database.db
        .selectFrom('reservations')
        .select('id')
        .where('user_id', '=', 99_999)
        .execute();
      assert.equal(reservations.length, 0);
    });

    test("two batches in flight together with holds of the same users: the users' locks keep each to the limit", {
      skip,
    }, async () => {
      b.clock.advance((HOLD_TTL_SECONDS + 1) * 1000); // every hold of the tests above lapses
      const users = Array.from({ length: 40 }, (_, i) => i + 1);
      const seat = (u: number, k: number) => (u - 1) * 2 + k + 1; // schedule 17: seats 1-80, 2 per user
      for (const u of users) {
        await b.reservations.hold({ userId: u, scheduleId: 17, seatId: seat(u, 0) });
        await b.reservations.hold({ userId: u, scheduleId: 17, seatId: seat(u, 1) });
      }
      // Three more holds per user, in one turn, the users' first round before their second: 120 holds make a
      // batch of MAX_BATCH (64) and one of 56 at once, and users 1-24 have two holds in the first batch and one in
      // the second. Each has 2 held: the first batch takes their two (4), the second must find them at the limit.
      const holds: Array<[number, number, number]> = [];
      for (let k = 0; k < 3; k++) for (const u of users) holds.push([u, 18 + k, u]);
      const before = batchesSent();
      const counts = tally(await holdAll(holds));
      assert.ok(batchesSent() >= before + 2, 'two batches went');
      assert.deepEqual(counts, { ok: 2 * 40, HOLD_LIMIT_REACHED: 40 });
      for (const u of users) assert.equal(await liveHolds(u), MAX_HOLDS_PER_USER, `user ${u}`);
    });

    procedureTest('a batch the server refuses goes again hold by hold', { skip }, async () => {
      await sql`drop procedure hold_free_seats`.execute(t.database.db);
      try {
        const before = batchesSent();
        const results = await holdAll(Array.from({ length: 6 }, (_, i) => [70 + i, 14, i + 1]));
        assert.deepEqual(tally(results), { ok: 6 });
        assert.equal(batchesSent(), before, 'no batch was written');
        assert.equal(
          (
            await t.database.db
              .selectFrom('seat_claims')
              .select('seat_id')
              .where('schedule_id', '=', 14)
              .execute()
          ).length,
          6,
        );
      } finally {
        await sql.raw(holdFreeSeats).execute(t.database.db);
      }
    });

    test('many holds at once, every seat asked by two users: one owner per seat, nothing half written', {
      skip,
    }, async () => {
      b.clock.advance((HOLD_TTL_SECONDS + 1) * 1000); // every hold of the tests above lapses
      // 90 users, two holds each, over 90 seats: every seat is asked by two users.
      const holds: Array<[number, number, number]> = [];
      for (let u = 0; u < 90; u++) holds.push([u + 1, 15, (u % 45) + 1], [u + 1, 15, 46 + (u % 45)]);
      const results = await holdAll(holds);
      const counts = tally(results);
      const claims = await t.database.db
        .selectFrom('seat_claims')
        .select(['seat_id', 'reservation_id'])
        .where('schedule_id', '=', 15)
        .execute();
      assert.equal(claims.length, 90, 'every seat asked for is held once');
      assert.deepEqual(counts, { ok: 90, SEAT_ALREADY_RESERVED: 90 });
      const reservations = await t.database.db
        .selectFrom('reservations')
        .select('id')
        .where('schedule_id', '=', 15)
        .execute();
      assert.deepEqual(reservations.map((r) => r.id).sort(), claims.map((c) => c.reservation_id).sort());
      const events = await t.database.db
        .selectFrom('outbox')
        .select('aggregate_id')
        .where(
          'aggregate_id',
          'in',
          reservations.map((r) => r.id),
        )
        .execute();
      assert.equal(events.length, 90);
    });
    procedureTest(
      'payments arriving together go in one call and write what a payment alone writes',
      {
        skip,
      },
      async () => {
        b.clock.advance((HOLD_TTL_SECONDS + 1) * 1000); // every hold of the tests above lapses
        const held: Reservation[] = [];
        for (let u = 1; u <= 31; u++)
          held.push(await b.reservations.hold({ userId: u, scheduleId: 20, seatId: u }));
        for (const r of held) await b.points.charge(r.userId, r.price + 1000);
        const [first, ...together] = held;
        await b.payments.pay(first.userId, first.id);
        const before = paymentBatches();
        const paid = (await payAll(() => together.map((r) => b.payments.pay(r.userId, r.id)))).map(
          (x) => (x as PromiseFulfilledResult<{ balance: number }>).value,
        );
        const after = paymentBatches();
        assert.ok(after.batches > before.batches, 'the payments went in a batch');
        assert.equal(after.again, before.again, 'the batch paid every one of them');
        assert.deepEqual(
          paid.map((p) => p.balance),
          together.map(() => 1000),
        );
        const rows = async (id: string) => {
          const payment = await t.database.db
            .selectFrom('payments')
            .selectAll()
            .where('reservation_id', '=', id)
            .executeTakeFirstOrThrow();
          const ledger = await t.database.db
            .selectFrom('point_ledger')
            .selectAll()
            .where('reference_id', '=', id)
            .executeTakeFirstOrThrow();
          const reservation = await t.database.db
            .selectFrom('reservations')
            .select(['status', 'updated_at'])
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          const claim = await t.database.db
            .selectFrom('seat_claims')
            .select('status')
            .where('reservation_id', '=', id)
            .executeTakeFirstOrThrow();
          const events = await t.database.db
            .selectFrom('outbox')
            .select(['type', 'payload', 'created_at', 'published_at'])
            .where('aggregate_id', '=', id)
            .orderBy('seq')
            .execute();
          const { id: paymentId, ...paymentRest } = payment;
          const { id: _ledgerId, ...ledgerRest } = ledger;
          const w = await wallet(payment.user_id);
          return {
            payment: paymentRest,
            ledger: ledgerRest,
            reservation,
            claim,
            events: events.map((e) => ({ ...e, payload: JSON.parse(e.payload) })),
            paymentId,
            bound: w.hold_bound,
          };
        };
        const template = await rows(first.id);
        assert.equal(template.bound, 0, 'paying lowered the bound of live holds');
        for (const [i, r] of together.entries()) {
          const got = await rows(r.id);
          const user = { user_id: r.userId };
          const ids = { reservationId: r.id, userId: r.userId, seatId: r.seatId };
          assert.deepEqual(
            got,
            {
              ...template,
              payment: { ...template.payment, ...user, reservation_id: r.id, amount: r.price },
              ledger: { ...template.ledger, ...user, reference_id: r.id, delta: -r.price },
              events: [
                { ...template.events[0], payload: { ...template.events[0].payload, ...ids, price: r.price } },
                {
                  ...template.events[1],
                  payload: {
                    ...template.events[1].payload,
                    ...ids,
                    paymentId: got.paymentId,
                    amount: r.price,
                  },
                },
              ],
              paymentId: got.paymentId,
            },
            `payment ${i}`,
          );
        }
      },
    );

    procedureTest(
      'in a batch, a short wallet, a lapsed hold and another user are refused as alone, and change nothing',
      {
        skip,
      },
      async () => {
        const hold = (userId: number, seatId: number) =>
          b.reservations.hold({ userId, scheduleId: 21, seatId });
        const lapsing = await hold(40, 1);
        b.clock.advance((HOLD_TTL_SECONDS - 1) * 1000);
        const [short, others, fine1, fine2, fine3] = await Promise.all([
          hold(41, 2),
          hold(42, 3),
          hold(43, 4),
          hold(44, 5),
          hold(45, 6),
        ]);
        b.clock.advance(2000); // lapsing has lapsed; the others have not
        for (const r of [lapsing, others, fine1, fine2, fine3]) await b.points.charge(r.userId, r.price);
        await b.points.charge(short.userId, short.price - 1);
        const before = paymentBatches();
        const results = await payAll(() => [
          b.payments.pay(40, lapsing.id),
          b.payments.pay(41, short.id),
          b.payments.pay(46, others.id),
          b.payments.pay(43, fine1.id),
          b.payments.pay(44, fine2.id),
          b.payments.pay(45, fine3.id),
        ]);
        assert.ok(paymentBatches().batches > before.batches);
        const [lapsed, isShort, notOwner, ...fine] = results.map(outcome);
        assert.notEqual(lapsed, 'ok');
        assert.equal(isShort, 'INSUFFICIENT_POINTS');
        assert.equal(notOwner, 'NOT_RESERVATION_OWNER');
        assert.deepEqual(fine, ['ok', 'ok', 'ok']);
        assert.equal(await b.points.balance(40), lapsing.price);
        assert.equal(await b.points.balance(41), short.price - 1);
        assert.equal(await b.points.balance(42), others.price);
        for (const r of [lapsing, short, others]) {
          const payments = await t.database.db
            .selectFrom('payments')
            .select('id')
            .where('reservation_id', '=', r.id)
            .execute();
          assert.equal(payments.length, 0);
          assert.notEqual((await b.reservations.get(r.id)).status, 'CONFIRMED');
        }
      },
    );

    procedureTest(
      "many payments at once, several of each user's holds and each paid twice: one payment each, money adds up",
      {
        skip,
      },
      async () => {
        b.clock.advance((HOLD_TTL_SECONDS + 1) * 1000);
        const held: Reservation[] = [];
        for (let u = 50; u < 80; u++)
          for (let k = 0; k < 3; k++)
            held.push(await b.reservations.hold({ userId: u, scheduleId: 22 + k, seatId: u }));
        const owed = new Map<number, number>();
        for (const r of held) owed.set(r.userId, (owed.get(r.userId) ?? 0) + r.price);
        for (const [u, amount] of owed) await b.points.charge(u, amount + 500);
        const before = paymentBatches();
        const results = await payAll(() => [...held, ...held].map((r) => b.payments.pay(r.userId, r.id)));
        assert.ok(paymentBatches().batches > before.batches);
        assert.deepEqual(tally(results), { ok: held.length, ALREADY_PAID: held.length });
        for (const [u] of owed) {
          assert.equal(await b.points.balance(u), 500, `user ${u}`);
          assert.equal(await b.store.ledgerSum(u), 500);
        }
        for (const r of held) {
          const payments = await t.database.db
            .selectFrom('payments')
            .select('id')
            .where('reservation_id', '=', r.id)
            .execute();
          assert.equal(payments.length, 1);
        }
      },
    );
    procedureTest(
      'a batch of payments sent past the service (the store itself) decides lapse, owner and balance',
      {
        skip,
      },
      async () => {
        b.clock.advance((HOLD_TTL_SECONDS + 1) * 1000);
        const held: Reservation[] = [];
        for (let u = 81; u <= 88; u++)
          held.push(await b.reservations.hold({ userId: u, scheduleId: 26, seatId: u }));
        for (const r of held) await b.points.charge(r.userId, r.userId === 82 ? r.price - 1 : r.price);
        await b.points.charge(89, held[2].price); // could pay for it, were it theirs
        const now = b.clock.now();
        const late = held[0].expiresAt + 1;
        const before = paymentBatches();
        const outcomes = (
          await payAll(() => [
            b.store.payForHold(holdPaymentOf(held[0], 81, late)), // lapsed by the time it is paid
            b.store.payForHold(holdPaymentOf(held[1], 82, now)), // short by one point
            b.store.payForHold(holdPaymentOf(held[2], 89, now)), // not this user's hold
            ...held.slice(3).map((r) => b.store.payForHold(holdPaymentOf(r, r.userId, now))),
          ])
        ).map((x) => (x.status === 'fulfilled' ? x.value : x.reason));
        const after = paymentBatches();
        assert.ok(after.batches > before.batches);
        assert.equal(
          after.again - before.again,
          3,
          'the three refused went again alone, for their exact answers',
        );
        assert.deepEqual(outcomes, [
          { status: 'not_held' },
          { status: 'short', balance: held[1].price - 1 },
          { status: 'not_held' },
          ...held.slice(3).map(() => ({ status: 'paid', balance: 0 })),
        ]);
        for (const r of held.slice(0, 3)) {
          const payments = await t.database.db
            .selectFrom('payments')
            .select('id')
            .where('reservation_id', '=', r.id)
            .execute();
          assert.equal(payments.length, 0);
          assert.equal((await b.store.findReservation(r.id))?.status, 'HELD');
          assert.equal((await b.store.findClaim(r.scheduleId, r.seatId))?.status, 'HELD');
        }
        assert.equal(await b.points.balance(81), held[0].price);
        assert.equal(await b.points.balance(83), held[2].price);
        assert.equal(await b.points.balance(89), held[2].price);
      },
    );
  });
}
