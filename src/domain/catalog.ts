import { BoundedMap } from './bounded-map.ts';
import type { Clock } from './clock.ts';
import { DomainError } from './errors.ts';
import { seatGrade, seatPrice } from './pricing.ts';

export interface Concert {
  id: number;
  title: string;
  artist: string;
  venue: string;
}

export interface Schedule {
  id: number;
  concertId: number;
  startsAt: number;
  seatCount: number;
  basePrice: number;
}

export interface ScheduleWithAvailability extends Schedule {
  availableSeats: number;
}

export interface Seat {
  id: number;
  number: number;
  grade: 'VIP' | 'R' | 'S';
  price: number;
}

/** What the catalog needs from storage; implemented in src/db/catalog-repository.ts. */
export interface CatalogRepository {
  listConcerts(afterId: number, limit: number): Promise<Concert[]>;
  findConcert(id: number): Promise<Concert | undefined>;
  listSchedulesWithAvailability(concertId: number, now: number): Promise<ScheduleWithAvailability[]>;
  findSchedule(id: number): Promise<Schedule | undefined>;
  /** Seat ids held (unexpired) or sold in a schedule. */
  takenSeatIds(scheduleId: number, now: number): Promise<number[]>;
}

export interface ConcertPage {
  concerts: Concert[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** How many schedules a process keeps; a sale touches a handful, the seed 100,000. */
const CACHED_SCHEDULES = 10_000;

export class CatalogService {
  readonly #repo: CatalogRepository;
  readonly #clock: Clock;
  /** Schedules never change once published, so every hold need not read its schedule again. */
  readonly #schedules = new BoundedMap<number, Promise<Schedule | undefined>>(CACHED_SCHEDULES);

  constructor(repo: CatalogRepository, clock: Clock) {
    this.#repo = repo;
    this.#clock = clock;
  }

  async listConcerts(cursor: string | undefined, limit = DEFAULT_PAGE_SIZE): Promise<ConcertPage> {
    const afterId = cursor === undefined ? 0 : decodeCursor(cursor);
    const rows = await this.#repo.listConcerts(afterId, limit + 1);
    const concerts = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor(concerts[concerts.length - 1].id) : null;
    return { concerts, nextCursor };
  }

  async getConcert(concertId: number): Promise<Concert> {
    const concert = await this.#repo.findConcert(concertId);
    if (!concert) throw new DomainError('CONCERT_NOT_FOUND', `Concert ${concertId} does not exist`);
    return concert;
  }

  async listSchedules(concertId: number): Promise<ScheduleWithAvailability[]> {
    const schedules = await this.#repo.listSchedulesWithAvailability(concertId, this.#clock.now());
    if (schedules.length === 0 && !(await this.#repo.findConcert(concertId))) {
      throw new DomainError('CONCERT_NOT_FOUND', `Concert ${concertId} does not exist`);
    }
    return schedules;
  }

  /** The schedule, checked to belong to the concert when one is given. */
  async getSchedule(scheduleId: number, concertId?: number): Promise<Schedule> {
    const schedule = await (this.#schedules.get(scheduleId) ?? this.#findSchedule(scheduleId));
    if (!schedule || (concertId !== undefined && schedule.concertId !== concertId)) {
      const where = concertId === undefined ? '' : ` in concert ${concertId}`;
      throw new DomainError('SCHEDULE_NOT_FOUND', `Schedule ${scheduleId} does not exist${where}`);
    }
    return schedule;
  }

  /** One read per schedule, however many holds ask at once; a schedule not found is asked again next time. */
  #findSchedule(scheduleId: number): Promise<Schedule | undefined> {
    const found = this.#repo.findSchedule(scheduleId);
    this.#schedules.set(scheduleId, found);
    const forget = () => {
      if (this.#schedules.get(scheduleId) === found) this.#schedules.delete(scheduleId);
    };
    found.then((s) => s ?? forget(), forget);
    return found;
  }

  async availableSeats(concertId: number, scheduleId: number): Promise<Seat[]> {
    const schedule = await this.getSchedule(scheduleId, concertId);
    const taken = new Set(await this.#repo.takenSeatIds(scheduleId, this.#clock.now()));
    const seats: Seat[] = [];
    for (let n = 1; n <= schedule.seatCount; n++) {
      if (!taken.has(n)) seats.push(seatOf(schedule, n));
    }
    return seats;
  }
}

/** Every seat of a schedule exists, stored or not: seat ids are 1..seatCount. */
export function seatOf(schedule: Schedule, seatId: number): Seat {
  if (!Number.isInteger(seatId) || seatId < 1 || seatId > schedule.seatCount) {
    throw new DomainError('SEAT_NOT_FOUND', `Seat ${seatId} does not exist in schedule ${schedule.id}`);
  }
  return {
    id: seatId,
    number: seatId,
    grade: seatGrade(seatId, schedule.seatCount),
    price: seatPrice(schedule.basePrice, seatId, schedule.seatCount),
  };
}

function encodeCursor(lastId: number): string {
  return Buffer.from(`c:${lastId}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const m = /^c:(\d{1,10})$/.exec(text);
  if (!m) throw new DomainError('VALIDATION_FAILED', 'cursor is not one this server issued');
  return Number(m[1]);
}
