import { sql } from 'kysely';
import type {
  BookingStore,
  BookingTx,
  Reservation,
  ReservationStatus,
  SeatClaim,
} from '../domain/booking/model.ts';
import type { Database, Db } from './database.ts';
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

async function balanceOf(db: Db, userId: number): Promise<number | undefined> {
  const r = await db
    .selectFrom('point_wallets')
    .select('balance')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return r ? Number(r.balance) : undefined;
}

function bookingTx(database: Database, trx: Db): BookingTx {
  return {
    findReservation: (id) => findReservation(trx, id),

    async insertReservation(r) {
      await trx
        .insertInto('reservations')
        .values({
          id: r.id,
          user_id: r.userId,
          schedule_id: r.scheduleId,
          seat_id: r.seatId,
          status: r.status,
          price: r.price,
          created_at: r.createdAt,
          expires_at: r.expiresAt,
          updated_at: r.updatedAt,
        })
        .execute();
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

    insertClaim: (c) =>
      insertIgnoringDuplicate(database, trx, 'seat_claims', {
        schedule_id: c.scheduleId,
        seat_id: c.seatId,
        reservation_id: c.reservationId,
        user_id: c.userId,
        status: c.status,
        expires_at: c.expiresAt,
      }),

    async findClaim(scheduleId, seatId) {
      const c = await trx
        .selectFrom('seat_claims')
        .selectAll()
        .where('schedule_id', '=', scheduleId)
        .where('seat_id', '=', seatId)
        .executeTakeFirst();
      return c ? toClaim(c) : undefined;
    },

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
      return changed(r);
    },

    async dropHeldClaim(reservationId, lapsedBefore) {
      let q = trx
        .deleteFrom('seat_claims')
        .where('reservation_id', '=', reservationId)
        .where('status', '=', 'HELD');
      if (lapsedBefore !== undefined) q = q.where('expires_at', '<=', lapsedBefore);
      return changed(await q.executeTakeFirst());
    },

    async sellClaim(reservationId, now) {
      const r = await trx
        .updateTable('seat_claims')
        .set({ status: 'SOLD' })
        .where('reservation_id', '=', reservationId)
        .where('status', '=', 'HELD')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return changed(r);
    },

    async creditWallet(userId, amount, now) {
      const r = await trx
        .updateTable('point_wallets')
        .set({ balance: sql`balance + ${amount}`, updated_at: now })
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return changed(r);
    },

    async debitWallet(userId, amount, now) {
      const r = await trx
        .updateTable('point_wallets')
        .set({ balance: sql`balance - ${amount}`, updated_at: now })
        .where('user_id', '=', userId)
        .where('balance', '>=', amount)
        .executeTakeFirst();
      return changed(r);
    },

    balanceOf: (userId) => balanceOf(trx, userId),

    async appendLedger(e) {
      await trx
        .insertInto('point_ledger')
        .values({
          id: e.id,
          user_id: e.userId,
          delta: e.delta,
          reason: e.reason,
          reference_id: e.referenceId,
          created_at: e.createdAt,
        })
        .execute();
    },

    async insertPayment(p) {
      await trx
        .insertInto('payments')
        .values({
          id: p.id,
          reservation_id: p.reservationId,
          user_id: p.userId,
          amount: p.amount,
          created_at: p.createdAt,
        })
        .execute();
    },

    appendEvent: (e) => appendOutboxEvent(trx, e),
  };
}

export function bookingRepository(database: Database): BookingStore {
  const { db } = database;
  return {
    transaction: (fn) => inTransaction(database, (trx) => fn(bookingTx(database, trx))),

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
