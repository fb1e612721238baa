// MariaDB's holds in batches (migration 0015, src/db/hold-batches.ts): holds arriving together are written by
// one call, and every hold is answered as a hold alone would be.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { holdBatchStats } from '../../src/db/hold-batches.ts';
import { holdFreeSeats } from '../../src/db/migrations/0015-hold-batches.ts';
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

describe('holds in batches on mysql', async () => {
  const available = await dialectAvailable('mysql');
  const skip = !available && 'mysql not reachable';
  let t: TestDatabase;
  let b: Awaited<ReturnType<typeof bookingOn>>;
  before(async () => {
    if (!available) return;
    t = await createTestDatabase('mysql', { max: 10, acquireTimeoutMs: 30_000 });
    b = await bookingOn(t.database);
  });
  after(async () => t?.drop());

  const batchesSent = () => holdBatchStats(t.database)?.batches ?? 0;
  const holdAll = (holds: Array<[userId: number, scheduleId: number, seatId: number]>) =>
    Promise.allSettled(
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
    assert.equal(template.reservation.expires_at, template.reservation.created_at + HOLD_TTL_SECONDS * 1000);
    for (const [i, h] of held.entries()) {
      const got = await rows(h.id);
      assert.deepEqual(got, like(template, i + 2, i + 2, h.id, h.price));
      assert.equal((await wallet(i + 2)).hold_bound, 1);
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
    assert.equal((await wallet(50)).hold_bound, MAX_HOLDS_PER_USER);
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

  test("two batches in flight together with holds of the same users: the wallet's lock keeps each to the limit", {
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

  test('a batch the server refuses goes again hold by hold', { skip }, async () => {
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
});
