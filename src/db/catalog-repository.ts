import type {
  CatalogRepository,
  Concert,
  Schedule,
  ScheduleWithAvailability,
  SeatMapKind,
} from '../domain/catalog.ts';
import { compiledRead } from './compiled-read.ts';
import type { Db } from './database.ts';
import { storedSeatsOf } from './seats.ts';

interface ScheduleRow {
  id: number;
  concert_id: number;
  starts_at: number;
  seat_count: number;
  base_price: number;
  venue: string;
  seat_map: string;
}

const toSchedule = (r: ScheduleRow): Schedule => ({
  id: Number(r.id),
  concertId: Number(r.concert_id),
  startsAt: Number(r.starts_at),
  seatCount: Number(r.seat_count),
  basePrice: Number(r.base_price),
  venue: r.venue,
  seatMap: r.seat_map as SeatMapKind,
});

const withAvailability = (r: ScheduleRow & { taken: unknown }): ScheduleWithAvailability => {
  const s = toSchedule(r);
  return { ...s, availableSeats: Math.max(0, s.seatCount - Number(r.taken ?? 0)) };
};

/** Schedules fans may see: published, of a published concert; the venue falls back to the concert's. */
function publishedSchedules(db: Db) {
  return db
    .selectFrom('schedules as s')
    .innerJoin('concerts as k', 'k.id', 's.concert_id')
    .select(['s.id', 's.concert_id', 's.starts_at', 's.seat_count', 's.base_price', 's.seat_map'])
    .select((eb) => eb.fn.coalesce('s.venue', 'k.venue').as('venue'))
    .where('s.published', '=', 1)
    .where('k.published', '=', 1);
}

export function catalogRepository(db: Db): CatalogRepository {
  // The reads every fan makes, compiled once (see compiledRead); their builders never branch on the arguments.
  const concertsAfter = compiledRead(db, (afterId: number, limit: number) =>
    db
      .selectFrom('concerts')
      .select(['id', 'title', 'artist', 'venue'])
      .where('id', '>', afterId)
      .where('published', '=', 1)
      .orderBy('id')
      .limit(limit),
  );
  const concertById = compiledRead(db, (id: number) =>
    db
      .selectFrom('concerts')
      .select(['id', 'title', 'artist', 'venue'])
      .where('id', '=', id)
      .where('published', '=', 1),
  );
  const withTakenCount = (now: number) =>
    publishedSchedules(db).select((eb) =>
      eb
        .selectFrom('seat_claims as c')
        .select((e) => e.fn.countAll().as('n'))
        .whereRef('c.schedule_id', '=', 's.id')
        .where((w) => w.or([w('c.status', '=', 'SOLD'), w('c.expires_at', '>', now)]))
        .as('taken'),
    );
  const schedulesOfConcert = compiledRead(db, (concertId: number, now: number) =>
    withTakenCount(now).where('s.concert_id', '=', concertId).orderBy('s.id'),
  );
  const scheduleWithTakenCount = compiledRead(db, (id: number, now: number) =>
    withTakenCount(now).where('s.id', '=', id),
  );
  const scheduleById = compiledRead(db, (id: number) => publishedSchedules(db).where('s.id', '=', id));
  const claimsOf = compiledRead(db, (scheduleId: number, now: number) =>
    db
      .selectFrom('seat_claims')
      .select(['seat_id', 'status'])
      .where('schedule_id', '=', scheduleId)
      .where((w) => w.or([w('status', '=', 'SOLD'), w('expires_at', '>', now)])),
  );

  return {
    async listConcerts(afterId, limit) {
      return (await concertsAfter(afterId, limit)) as Concert[];
    },

    async findConcert(id) {
      return (await concertById(id))[0];
    },

    async listSchedulesWithAvailability(concertId, now) {
      return (await schedulesOfConcert(concertId, now)).map(withAvailability);
    },

    async findScheduleWithAvailability(id, now) {
      const r = (await scheduleWithTakenCount(id, now))[0];
      return r ? withAvailability(r) : undefined;
    },

    async findSchedule(id) {
      const r = (await scheduleById(id))[0];
      return r ? toSchedule(r) : undefined;
    },

    async takenSeats(scheduleId, now) {
      const rows = await claimsOf(scheduleId, now);
      return rows.map((r) => ({ id: Number(r.seat_id), status: r.status === 'SOLD' ? 'SOLD' : 'HELD' }));
    },

    storedSeats: (scheduleId) => storedSeatsOf(db, scheduleId),
  };
}
