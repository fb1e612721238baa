import { sql } from 'kysely';
import type {
  BookingStore,
  BookingTx,
  LimitedHold,
  LimitedHoldOutcome,
  Reservation,
  ReservationStatus,
  SeatClaim,
} from '../domain/booking/model.ts';
import { BoundedMap } from '../domain/bounded-map.ts';
import {
  claimRow,
  holdFreeSeatIn,
  holdFreeSeatWithinLimit,
  ledgerRow,
  lockUserSql,
  payForHold,
  payForHoldIn,
  raiseLiveHoldBound,
  reservationRow,
} from './booking-writes.ts';
import type { Database, Db } from './database.ts';
import { claimNewKey, completeIdempotencyKey } from './idempotency-repository.ts';
import { appendOutboxEvent } from './outbox-repository.ts';
import { insertIgnoringDuplicate, inTransaction } from './transaction.ts';
import type { ReservationsTable, SeatClaimsTable } from './types.ts';

const toReservation = (r: ReservationsTable): Reservation => ({
  id: r.id,
  userId: Number(r.user_id),
  scheduleId: Number(r.schedule_id),
  seatId: Number(r.seat_id),
  status: r.status as ReservationStatus,
  price: Number(r.price),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  updatedAt: Number(r.updated_at),
});

const toClaim = (c: SeatClaimsTable): SeatClaim => ({
  scheduleId: Number(c.schedule_id),
  seatId: Number(c.seat_id),
  reservationId: c.reservation_id,
  userId: Number(c.user_id),
  status: c.status as SeatClaim['status'],
  expiresAt: Number(c.expires_at),
});

const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): boolean =>
  Number(r.numUpdatedRows ?? r.numDeletedRows ?? 0) > 0;

async function findReservation(db: Db, id: string): Promise<Reservation | undefined> {
  const r = await db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toReservation(r) : undefined;
}

async function findClaim(db: Db, scheduleId: number, seatId: number): Promise<SeatClaim | undefined> {
  const c = await db
    .selectFrom('seat_claims')
    .selectAll()
    .where('schedule_id', '=', scheduleId)
    .where('seat_id', '=', seatId)
    .executeTakeFirst();
  return c ? toClaim(c) : undefined;
}

async function balanceOf(db: Db, userId: number): Promise<number | undefined> {
  const r = await db
    .selectFrom('point_wallets')
    .select('balance')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return r ? Number(r.balance) : undefined;
}

function bookingTx(database: Database, trx: Db, held: Reservation[]): BookingTx {
  return {
    async lockUser(userId) {
      const { rowLocks, keyLocks } = database.capabilities;
      // SQLite runs one transaction at a time on its one connection: there is no one to lock out.
      if (!rowLocks) {
        const q = trx.selectFrom('users').select('id').where('id', '=', userId);
        return (await q.executeTakeFirst()) !== undefined;
      }
      // The lock the one-call hold takes (booking-writes.ts), so both forms of a hold wait for each other.
      const { rows } = await lockUserSql(keyLocks, userId).execute(trx);
      return rows.length > 0 && Boolean(rows[0].found);
    },

    async holdFreeSeat(claim, reservation, event) {
      const ok = await holdFreeSeatIn(database, trx, claim, reservation, event);
      if (ok) {
        await raiseLiveHoldBound(database, trx, claim, reservation.createdAt);
        held.push(reservation);
      }
      return ok;
    },

    payForHold: (p) => payForHoldIn(database, trx, p),

    async liveHoldsOf(userId, now) {
      const r = await trx
        .selectFrom('seat_claims')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId)
        .where('status', '=', 'HELD')
        .where('expires_at', '>', now)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    findReservation: (id) => findReservation(trx, id),

    async insertReservation(r) {
      await trx.insertInto('reservations').values(reservationRow(r)).execute();
    },

    async setReservationStatus(id, from, to, now) {
      const r = await trx
        .updateTable('reservations')
        .set({ status: to, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', from)
        .executeTakeFirst();
      return changed(r);
    },

    async lockStoredSeat(scheduleId, seatId) {
      const q = trx
        .selectFrom('seats')
        .select('price')
        .where('schedule_id', '=', scheduleId)
        .where('seat_id', '=', seatId);
      const r = await (database.capabilities.rowLocks ? q.forUpdate() : q).executeTakeFirst();
      return r ? { price: Number(r.price) } : undefined;
    },

    insertClaim: (c) => insertIgnoringDuplicate(database, trx, 'seat_claims', claimRow(c)),

    findClaim: (scheduleId, seatId) => findClaim(trx, scheduleId, seatId),

    async takeOverLapsedClaim(previousReservationId, c, now) {
      const r = await trx
        .updateTable('seat_claims')
        .set({ reservation_id: c.reservationId, user_id: c.userId, status: 'HELD', expires_at: c.expiresAt })
        .where('schedule_id', '=', c.scheduleId)
        .where('seat_id', '=', c.seatId)
        .where('reservation_id', '=', previousReservationId)
        .where('status', '=', 'HELD')
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      if (!changed(r)) return false;
      await raiseLiveHoldBound(database, trx, c, now);
      return true;
    },

    async dropHeldClaim(hold, lapsedBefore) {
      let q = trx
        .deleteFrom('seat_claims')
        .where('schedule_id', '=', hold.scheduleId)
        .where('seat_id', '=', hold.seatId)
        .where('reservation_id', '=', hold.id)
        .where('status', '=', 'HELD');
      if (lapsedBefore !== undefined) q = q.where('expires_at', '<=', lapsedBefore);
      return changed(await q.executeTakeFirst());
    },

    async creditWallet(userId, amount, now) {
      const r = await trx
        .updateTable('point_wallets')
        .set({ balance: sql`balance + ${amount}`, updated_at: now })
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return changed(r);
    },

    balanceOf: (userId) => balanceOf(trx, userId),

    async appendLedger(e) {
      await trx.insertInto('point_ledger').values(ledgerRow(e)).execute();
    },

    appendEvent: (e) => appendOutboxEvent(trx, e),

    recordProviderTopUp: (t) =>
      insertIgnoringDuplicate(database, trx, 'provider_top_ups', {
        event_id: t.eventId,
        user_id: t.userId,
        amount: t.amount,
        ledger_id: t.ledgerId,
        created_at: t.createdAt,
      }),

    async findProviderTopUp(eventId) {
      const r = await trx
        .selectFrom('provider_top_ups')
        .select(['user_id', 'amount', 'ledger_id', 'created_at'])
        .where('event_id', '=', eventId)
        .executeTakeFirst();
      return r
        ? {
            eventId,
            userId: Number(r.user_id),
            amount: Number(r.amount),
            ledgerId: r.ledger_id,
            createdAt: Number(r.created_at),
          }
        : undefined;
    },

    completeIdempotencyKey: (claim, outcome) => completeIdempotencyKey(trx, claim, outcome),
  };
}

/** Rolls back a hold whose idempotency claim went to another request. */
class Superseded extends Error {}

/**
 * The hold's steps one statement at a time, where a transaction cannot travel in one round trip; with an
 * idempotency answer, stored in the same transaction (or the hold rolled back when the claim was lost).
 */
async function holdWithinLimitStepwise(database: Database, h: LimitedHold): Promise<LimitedHoldOutcome> {
  try {
    return await inTransaction(database, async (trx) => {
      const tx = bookingTx(database, trx, []);
      const { userId } = h.reservation;
      const newKey = h.answer?.newKey;
      if (h.answer && newKey && !(await claimNewKey(database, trx, h.answer.claim, newKey)))
        return { status: 'key_exists' };
      if (!(await tx.lockUser(userId))) return { status: 'no_user' };
      const held = await tx.liveHoldsOf(userId, h.now);
      if (held >= h.maxHolds) return { status: 'limit', held };
      if (!(await tx.holdFreeSeat(h.claim, h.reservation, h.event))) return { status: 'taken' };
      if (h.answer && !(await tx.completeIdempotencyKey(h.answer.claim, h.answer.outcome)))
        throw new Superseded();
      return { status: 'held' };
    });
  } catch (err) {
    if (err instanceof Superseded) return { status: 'superseded' };
    throw err;
  }
}

/** Holds remembered per process: enough for the time between a hold and its payment. */
const REMEMBERED_HOLDS = 20_000;

export function bookingRepository(database: Database): BookingStore {
  const { db } = database;
  // A payment of a hold made here needs no read first: its owner, seat and price cannot have changed.
  const heldHere = new BoundedMap<string, Reservation>(REMEMBERED_HOLDS);
  return {
    async transaction(fn) {
      const held: Reservation[] = [];
      const result = await inTransaction(database, (trx) => {
        held.length = 0; // a retried attempt starts over
        return fn(bookingTx(database, trx, held));
      });
      for (const r of held) heldHere.set(r.id, r);
      return result;
    },

    async holdFreeSeatWithinLimit(h) {
      const { capabilities } = database;
      const outcome =
        capabilities.statementsBehindOneSync || capabilities.storedProcedures
          ? await holdFreeSeatWithinLimit(database, h)
          : await holdWithinLimitStepwise(database, h);
      if (outcome.status === 'held') heldHere.set(h.reservation.id, h.reservation);
      return outcome;
    },

    findClaim: (scheduleId, seatId) => findClaim(db, scheduleId, seatId),

    findHold: async (id) => heldHere.get(id) ?? findReservation(db, id),

    async payForHold(p) {
      const outcome = await payForHold(database, p);
      if (outcome.status === 'paid') heldHere.delete(p.payment.reservationId);
      return outcome;
    },

    findReservation: (id) => findReservation(db, id),

    async reservationsOfUser(userId, limit) {
      const rows = await db
        .selectFrom('reservations')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toReservation);
    },

    balanceOf: (userId) => balanceOf(db, userId),

    async ledgerSum(userId) {
      const r = await db
        .selectFrom('point_ledger')
        .select((eb) => eb.fn.sum<number>('delta').as('sum'))
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(r?.sum ?? 0);
    },

    async lapsedHolds(now, limit) {
      const rows = await db
        .selectFrom('reservations')
        .selectAll()
        .where('status', '=', 'HELD')
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      return rows.map(toReservation);
    },
  };
}
