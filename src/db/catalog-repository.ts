import type { CatalogRepository, Concert, Schedule } from '../domain/catalog.ts';
import type { Db } from './database.ts';

interface ScheduleRow {
  id: number;
  concert_id: number;
  starts_at: number;
  seat_count: number;
  base_price: number;
}

const toSchedule = (r: ScheduleRow): Schedule => ({
  id: Number(r.id),
  concertId: Number(r.concert_id),
  startsAt: Number(r.starts_at),
  seatCount: Number(r.seat_count),
  basePrice: Number(r.base_price),
});

export function catalogRepository(db: Db): CatalogRepository {
  return {
    async listConcerts(afterId, limit) {
      return db
        .selectFrom('concerts')
        .select(['id', 'title', 'artist', 'venue'])
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute() as Promise<Concert[]>;
    },

    async findConcert(id) {
      return db
        .selectFrom('concerts')
        .select(['id', 'title', 'artist', 'venue'])
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async listSchedulesWithAvailability(concertId, now) {
      const rows = await db
        .selectFrom('schedules as s')
        .select(['s.id', 's.concert_id', 's.starts_at', 's.seat_count', 's.base_price'])
        .select((eb) =>
          eb
            .selectFrom('seat_claims as c')
            .select((e) => e.fn.countAll().as('n'))
            .whereRef('c.schedule_id', '=', 's.id')
            .where((w) => w.or([w('c.status', '=', 'SOLD'), w('c.expires_at', '>', now)]))
            .as('taken'),
        )
        .where('s.concert_id', '=', concertId)
        .orderBy('s.id')
        .execute();
      return rows.map((r) => {
        const s = toSchedule(r);
        return { ...s, availableSeats: Math.max(0, s.seatCount - Number(r.taken ?? 0)) };
      });
    },

    async findSchedule(id) {
      const r = await db
        .selectFrom('schedules')
        .select(['id', 'concert_id', 'starts_at', 'seat_count', 'base_price'])
        .where('id', '=', id)
        .executeTakeFirst();
      return r ? toSchedule(r) : undefined;
    },

    async takenSeatIds(scheduleId, now) {
      const rows = await db
        .selectFrom('seat_claims')
        .select('seat_id')
        .where('schedule_id', '=', scheduleId)
        .where((w) => w.or([w('status', '=', 'SOLD'), w('expires_at', '>', now)]))
        .execute();
      return rows.map((r) => Number(r.seat_id));
    },
  };
}
