import type { StoredSeat } from './admin/seat-map.ts';
import { BoundedMap } from './bounded-map.ts';
import type { Clock } from './clock.ts';
import { DomainError } from './errors.ts';
import { seatGrade, seatPrice } from './pricing.ts';
import { SeatMapCopies } from './seat-map-copies.ts';
import type { Seat, SeatAvailability, TakenSeat } from './seats.ts';

export interface Concert {
  id: number;
  title: string;
  artist: string;
  venue: string;
}

/** 'tiered': the demo's implicit seats 1..seatCount priced by tier; 'stored': a seat map an operator entered. */
export type SeatMapKind = 'tiered' | 'stored';

export interface Schedule {
  id: number;
  concertId: number;
  startsAt: number;
  seatCount: number;
  basePrice: number;
  /** The schedule's own venue, else its concert's. */
  venue: string;
  seatMap: SeatMapKind;
}

export interface ScheduleWithAvailability extends Schedule {
  availableSeats: number;
}

export type { Seat, SeatAvailability, TakenSeat } from './seats.ts';

/** What the catalog needs from storage; implemented in src/db/catalog-repository.ts. Only published rows are seen. */
export interface CatalogRepository {
  listConcerts(afterId: number, limit: number): Promise<Concert[]>;
  findConcert(id: number): Promise<Concert | undefined>;
  listSchedulesWithAvailability(concertId: number, now: number): Promise<ScheduleWithAvailability[]>;
  findSchedule(id: number): Promise<Schedule | undefined>;
  /** One schedule with its free-seat count, counted as the list counts it; one read. */
  findScheduleWithAvailability(id: number, now: number): Promise<ScheduleWithAvailability | undefined>;
  /** Seats held (unexpired) or sold in a schedule. */
  takenSeats(scheduleId: number, now: number): Promise<TakenSeat[]>;
  /** The seats of a stored seat map, in seat-id order. */
  storedSeats(scheduleId: number): Promise<StoredSeat[]>;
}

export interface ConcertPage {
  concerts: Concert[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** How many schedules a process keeps; a sale touches a handful, the seed 100,000. */
const CACHED_SCHEDULES = 10_000;
/** How long a process trusts a schedule it read: an operator's change (unpublish, new time) reaches every process within it. */
export const SCHEDULE_CACHE_MS = 1000;

interface Cached<V> {
  readAt: number;
  value: Promise<V>;
}

/** Concerts whose schedule listing a process keeps. */
const CACHED_LISTINGS = 1000;
/** Pages of the concert list a process keeps (a cursor and a page size each). */
const CACHED_CONCERT_PAGES = 1000;

export class CatalogService {
  readonly #repo: CatalogRepository;
  readonly #clock: Clock;
  /** Every hold reads its schedule; a copy kept for a second spares the database all but one of those reads. */
  readonly #schedules = new BoundedMap<number, Cached<Schedule | undefined>>(CACHED_SCHEDULES);
  /**
   * A concert's schedules with their free-seat counts, kept SCHEDULE_CACHE_MS: counting them reads every claim of
   * every schedule of the concert (5,000 rows for 50 sold-out schedules), and in an on-sale thousands of fans list
   * the same concert each second; that read was the database's largest cost. The counts guide; the seat map and
   * the hold decide.
   */
  readonly #listings = new BoundedMap<number, Cached<ScheduleWithAvailability[]>>(CACHED_LISTINGS);
  /**
   * Pages of the concert list, kept SCHEDULE_CACHE_MS: it is every admitted fan's first request, so an opening
   * that admits hundreds at once asked the database for the same page hundreds of times in a second.
   */
  readonly #concertPages = new BoundedMap<string, Cached<Concert[]>>(CACHED_CONCERT_PAGES);
  /** Seat maps read, kept a second, with this process's own claims applied since. */
  readonly #seatMaps: SeatMapCopies;

  constructor(repo: CatalogRepository, clock: Clock) {
    this.#repo = repo;
    this.#clock = clock;
    this.#seatMaps = new SeatMapCopies(clock);
  }

  async listConcerts(cursor: string | undefined, limit = DEFAULT_PAGE_SIZE): Promise<ConcertPage> {
    const afterId = cursor === undefined ? 0 : decodeCursor(cursor);
    const rows = await this.#cached(this.#concertPages, `${afterId}:${limit}`, () =>
      this.#repo.listConcerts(afterId, limit + 1),
    );
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
    const schedules = await this.#cached(this.#listings, concertId, (now) =>
      this.#repo.listSchedulesWithAvailability(concertId, now),
    );
    if (schedules.length === 0 && !(await this.#repo.findConcert(concertId))) {
      throw new DomainError('CONCERT_NOT_FOUND', `Concert ${concertId} does not exist`);
    }
    return schedules;
  }

  /** The schedule, checked to belong to the concert when one is given. */
  async getSchedule(scheduleId: number, concertId?: number): Promise<Schedule> {
    // A schedule not found is asked again next time.
    const schedule = await this.#cached(
      this.#schedules,
      scheduleId,
      () => this.#repo.findSchedule(scheduleId),
      (s) => s !== undefined,
    );
    if (!schedule || (concertId !== undefined && schedule.concertId !== concertId)) {
      const where = concertId === undefined ? '' : ` in concert ${concertId}`;
      throw new DomainError('SCHEDULE_NOT_FOUND', `Schedule ${scheduleId} does not exist${where}`);
    }
    return schedule;
  }

  /**
   * One read per key and SCHEDULE_CACHE_MS, however many requests ask at once; a read that fails, or whose value
   * `keep` refuses, is forgotten as soon as it settles.
   */
  #cached<K, V>(
    cache: BoundedMap<K, Cached<V>>,
    key: K,
    read: (now: number) => Promise<V>,
    keep: (value: V) => boolean = () => true,
  ): Promise<V> {
    const now = this.#clock.now();
    const known = cache.get(key);
    if (known && now - known.readAt < SCHEDULE_CACHE_MS) return known.value;
    const entry = { readAt: now, value: read(now) };
    cache.set(key, entry);
    const forget = () => {
      if (cache.get(key) === entry) cache.delete(key);
    };
    entry.value.then((v) => keep(v) || forget(), forget);
    return entry.value;
  }

  /** Drops the copies this process keeps, after an operator changed the catalog here. */
  forgetSchedules(): void {
    this.#schedules.clear();
    this.#listings.clear();
    this.#concertPages.clear();
    this.#seatMaps.forget();
  }

  /** This process held or sold a seat, or lost a race for it: its seat map shows the seat taken from now on. */
  seatClaimed(scheduleId: number, seat: TakenSeat): void {
    this.#seatMaps.claimed(scheduleId, seat);
  }

  /** This process freed a seat of the schedule, or cannot tell what became of one: its seat map is read afresh. */
  forgetSeatMap(scheduleId: number): void {
    this.#seatMaps.forget(scheduleId);
  }

  /** The schedule and how many of its seats are free (held or sold ones are not), in one read. */
  async scheduleWithAvailability(scheduleId: number): Promise<ScheduleWithAvailability> {
    const schedule = await this.#repo.findScheduleWithAvailability(scheduleId, this.#clock.now());
    if (!schedule) throw new DomainError('SCHEDULE_NOT_FOUND', `Schedule ${scheduleId} does not exist`);
    return schedule;
  }

  async availableSeats(concertId: number, scheduleId: number): Promise<Seat[]> {
    return (await this.seatAvailability(concertId, scheduleId)).free;
  }

  async seatAvailability(concertId: number, scheduleId: number): Promise<SeatAvailability> {
    const schedule = await this.getSchedule(scheduleId, concertId);
    return this.#seatMaps.get(scheduleId, () => this.#readSeatAvailability(schedule));
  }

  async #readSeatAvailability(schedule: Schedule): Promise<SeatAvailability> {
    const scheduleId = schedule.id;
    const claims = await this.#repo.takenSeats(scheduleId, this.#clock.now());
    const taken = new Set(claims.map((c) => c.id));
    const held = claims.filter((c) => c.status === 'HELD').map((c) => c.id);
    const sold = claims.filter((c) => c.status === 'SOLD').map((c) => c.id);
    const sorted = (ids: number[]) => ids.sort((a, b) => a - b);
    if (schedule.seatMap === 'stored') {
      const free = (await this.#repo.storedSeats(scheduleId)).filter((s) => !taken.has(s.id));
      return { free: free.map(storedSeatView), held: sorted(held), sold: sorted(sold) };
    }
    const free: Seat[] = [];
    for (let n = 1; n <= schedule.seatCount; n++) {
      if (!taken.has(n)) free.push(seatOf(schedule, n));
    }
    return { free, held: sorted(held), sold: sorted(sold) };
  }
}

export const storedSeatView = (s: StoredSeat): Seat => ({
  id: s.id,
  number: s.id,
  grade: s.section,
  price: s.price,
  section: s.section,
  row: s.row,
  label: s.label,
});

/** Every seat of a tiered schedule exists, stored or not: seat ids are 1..seatCount. */
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
