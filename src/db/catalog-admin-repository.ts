import type {
  AdminConcert,
  AdminSchedule,
  CatalogAdminStore,
  CatalogAdminTx,
  SeatStatus,
} from '../domain/admin/catalog-admin.ts';
import type { SeatMapKind } from '../domain/catalog.ts';
import { appendAudit } from './audit-repository.ts';
import type { Database, Db } from './database.ts';
import { storedSeatsOf } from './seats.ts';
import { insertIgnoringDuplicate, inTransaction } from './transaction.ts';
import type { ConcertsTable, SchedulesTable } from './types.ts';

/** Rows per INSERT of a seat map: well under every dialect's bound-parameter limit. */
const SEAT_BATCH = 500;

type ConcertRow = Omit<ConcertsTable, 'created_at' | 'published'> & { published: number };
type ScheduleRow = Omit<SchedulesTable, 'published' | 'seat_map'> & { published: number; seat_map: string };

const concertColumns = ['id', 'title', 'artist', 'venue', 'published'] as const;
const scheduleColumns = [
  'id',
  'concert_id',
  'starts_at',
  'venue',
  'published',
  'seat_map',
  'seat_count',
  'base_price',
] as const;

const toConcert = (r: ConcertRow): AdminConcert => ({
  id: Number(r.id),
  title: r.title,
  artist: r.artist,
  venue: r.venue,
  published: Number(r.published) === 1,
});

const toSchedule = (r: ScheduleRow): AdminSchedule => ({
  id: Number(r.id),
  concertId: Number(r.concert_id),
  startsAt: Number(r.starts_at),
  venue: r.venue,
  published: Number(r.published) === 1,
  seatMap: r.seat_map as SeatMapKind,
  seatCount: Number(r.seat_count),
  basePrice: Number(r.base_price),
});

const scheduleRow = (s: AdminSchedule) => ({
  concert_id: s.concertId,
  starts_at: s.startsAt,
  venue: s.venue,
  published: s.published ? 1 : 0,
  seat_map: s.seatMap,
  seat_count: s.seatCount,
  base_price: s.basePrice,
});

async function maxOf(db: Db, table: 'concerts' | 'schedules'): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirst();
  return Number(r?.max ?? 0);
}

function catalogAdminTx(database: Database, trx: Db): CatalogAdminTx {
  const locked = <Q extends { forUpdate(): Q }>(q: Q): Q =>
    database.capabilities.rowLocks ? q.forUpdate() : q;
  return {
    maxConcertId: () => maxOf(trx, 'concerts'),
    insertConcert: (c, now) =>
      insertIgnoringDuplicate(database, trx, 'concerts', {
        id: c.id,
        title: c.title,
        artist: c.artist,
        venue: c.venue,
        published: c.published ? 1 : 0,
        created_at: now,
      }),
    async lockConcert(id) {
      const r = await locked(
        trx.selectFrom('concerts').select(concertColumns).where('id', '=', id),
      ).executeTakeFirst();
      return r ? toConcert(r) : undefined;
    },
    async updateConcert(c) {
      await trx
        .updateTable('concerts')
        .set({ title: c.title, artist: c.artist, venue: c.venue, published: c.published ? 1 : 0 })
        .where('id', '=', c.id)
        .execute();
    },
    maxScheduleId: () => maxOf(trx, 'schedules'),
    insertSchedule: (s) =>
      insertIgnoringDuplicate(database, trx, 'schedules', { id: s.id, ...scheduleRow(s) }),
    async lockSchedule(id) {
      const r = await locked(
        trx.selectFrom('schedules').select(scheduleColumns).where('id', '=', id),
      ).executeTakeFirst();
      return r ? toSchedule(r) : undefined;
    },
    async updateSchedule(s) {
      await trx.updateTable('schedules').set(scheduleRow(s)).where('id', '=', s.id).execute();
    },
    seatsOf: (scheduleId) => storedSeatsOf(trx, scheduleId),
    async maxSeatId(scheduleId) {
      const seats = await trx
        .selectFrom('seats')
        .select((eb) => eb.fn.max('seat_id').as('max'))
        .where('schedule_id', '=', scheduleId)
        .executeTakeFirst();
      const claims = await trx
        .selectFrom('seat_claims')
        .select((eb) => eb.fn.max('seat_id').as('max'))
        .where('schedule_id', '=', scheduleId)
        .executeTakeFirst();
      return Math.max(Number(seats?.max ?? 0), Number(claims?.max ?? 0));
    },
    async insertSeats(scheduleId, seats) {
      for (let i = 0; i < seats.length; i += SEAT_BATCH) {
        await trx
          .insertInto('seats')
          .values(
            seats.slice(i, i + SEAT_BATCH).map((s) => ({
              schedule_id: scheduleId,
              seat_id: s.id,
              section: s.section,
              row_label: s.row,
              label: s.label,
              price: s.price,
            })),
          )
          .execute();
      }
    },
    async updateSeatPrices(scheduleId, seats) {
      // One UPDATE per price, so a section repriced at once is one statement.
      const byPrice = new Map<number, number[]>();
      for (const s of seats) byPrice.set(s.price, [...(byPrice.get(s.price) ?? []), s.id]);
      for (const [price, ids] of byPrice)
        for (let i = 0; i < ids.length; i += SEAT_BATCH)
          await trx
            .updateTable('seats')
            .set({ price })
            .where('schedule_id', '=', scheduleId)
            .where('seat_id', 'in', ids.slice(i, i + SEAT_BATCH))
            .execute();
    },
    async deleteSeats(scheduleId, seatIds) {
      for (let i = 0; i < seatIds.length; i += SEAT_BATCH)
        await trx
          .deleteFrom('seats')
          .where('schedule_id', '=', scheduleId)
          .where('seat_id', 'in', seatIds.slice(i, i + SEAT_BATCH))
          .execute();
    },
    async liveClaims(scheduleId, seatIds, now) {
      const found: Array<{ seatId: number; status: 'HELD' | 'SOLD' }> = [];
      for (let i = 0; i < seatIds.length; i += SEAT_BATCH) {
        const rows = await trx
          .selectFrom('seat_claims')
          .select(['seat_id', 'status'])
          .where('schedule_id', '=', scheduleId)
          .where('seat_id', 'in', seatIds.slice(i, i + SEAT_BATCH))
          .where((w) => w.or([w('status', '=', 'SOLD'), w('expires_at', '>', now)]))
          .execute();
        for (const r of rows) found.push({ seatId: Number(r.seat_id), status: r.status as 'HELD' | 'SOLD' });
      }
      return found.sort((a, b) => a.seatId - b.seatId);
    },
    audit: (record) => appendAudit(trx, record),
  };
}

export function catalogAdminRepository(database: Database): CatalogAdminStore {
  const { db } = database;
  return {
    transaction: (fn) => inTransaction(database, (trx) => fn(catalogAdminTx(database, trx))),
    async listConcerts(afterId, limit) {
      const rows = await db
        .selectFrom('concerts')
        .select(concertColumns)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toConcert);
    },
    async findConcert(id) {
      const r = await db
        .selectFrom('concerts')
        .select(concertColumns)
        .where('id', '=', id)
        .executeTakeFirst();
      return r ? toConcert(r) : undefined;
    },
    async schedulesOf(concertId) {
      const rows = await db
        .selectFrom('schedules')
        .select(scheduleColumns)
        .where('concert_id', '=', concertId)
        .orderBy('id')
        .execute();
      return rows.map(toSchedule);
    },
    async findSchedule(id) {
      const r = await db
        .selectFrom('schedules')
        .select(scheduleColumns)
        .where('id', '=', id)
        .executeTakeFirst();
      return r ? toSchedule(r) : undefined;
    },
    async seatStates(scheduleId, now) {
      const seats = await storedSeatsOf(db, scheduleId);
      const claims = await db
        .selectFrom('seat_claims')
        .select(['seat_id', 'status'])
        .where('schedule_id', '=', scheduleId)
        .where((w) => w.or([w('status', '=', 'SOLD'), w('expires_at', '>', now)]))
        .execute();
      const status = new Map(claims.map((c) => [Number(c.seat_id), c.status as SeatStatus]));
      return seats.map((s) => ({ ...s, status: status.get(s.id) ?? 'FREE' }));
    },
  };
}
