import { BoundedMap } from './bounded-map.ts';
import type { Clock } from './clock.ts';
import type { SeatAvailability, TakenSeat } from './seats.ts';

/**
 * How long a process answers a schedule's seat map from the copy it read. Claims this process makes or learns of
 * show at once; another process's reach it within this. The map guides: the hold decides a seat.
 */
export const SEAT_MAP_FRESH_MS = 1000;
/**
 * Most schedules whose seat map a process keeps. Copies past their second are dropped at least once a second,
 * so a process keeps about the maps read in the last two; this bounds a burst over many schedules.
 */
const KEPT_SEAT_MAPS = 2000;

interface Copy {
  read: Promise<SeatAvailability>;
  /** Once the read answered: the map, with this process's claims since applied, and when the answer came. */
  answer?: { map: SeatAvailability; at: number };
}

/**
 * Seat maps a process has read, by schedule: one read per schedule at a time, however many fans ask at once,
 * and its answer kept SEAT_MAP_FRESH_MS from when it came. In an on-sale every fan reads a map before each hold,
 * and those reads queued for database connections behind the purchases.
 */
export class SeatMapCopies {
  readonly #copies = new BoundedMap<number, Copy>(KEPT_SEAT_MAPS);
  readonly #clock: Clock;
  readonly #freshMs: number;
  #sweptAt = 0;

  constructor(clock: Clock, freshMs = SEAT_MAP_FRESH_MS) {
    this.#clock = clock;
    this.#freshMs = freshMs;
  }

  /** The schedule's map: the copy while it is fresh or its read is under way, else `read` once for everyone. */
  get(scheduleId: number, read: () => Promise<SeatAvailability>): Promise<SeatAvailability> {
    const known = this.#copies.get(scheduleId);
    if (known && !known.answer) return known.read;
    if (known?.answer && this.#clock.now() - known.answer.at < this.#freshMs)
      return Promise.resolve(known.answer.map);
    this.#dropStale();
    const copy: Copy = { read: read() };
    this.#copies.set(scheduleId, copy);
    copy.read.then(
      (map) => {
        if (this.#copies.get(scheduleId) === copy) copy.answer = { map, at: this.#clock.now() };
      },
      () => this.#forgetCopy(scheduleId, copy),
    );
    return copy.read;
  }

  /**
   * A seat was held or sold here, or a lost race told that it had been: the copy shows it from now on. A read
   * still under way may have begun before the claim, so it is kept from being reused.
   */
  claimed(scheduleId: number, seat: TakenSeat): void {
    const copy = this.#copies.get(scheduleId);
    if (!copy) return;
    if (copy.answer) copy.answer.map = withClaim(copy.answer.map, seat);
    else this.#copies.delete(scheduleId);
  }

  /** A seat of the schedule was freed here, or its seats changed: the next ask reads it afresh. */
  forget(scheduleId?: number): void {
    if (scheduleId === undefined) this.#copies.clear();
    else this.#copies.delete(scheduleId);
  }

  /** Drops the copies past their second, once a second: a map a stadium's size is megabytes. */
  #dropStale(): void {
    const now = this.#clock.now();
    if (now - this.#sweptAt < this.#freshMs) return;
    this.#sweptAt = now;
    for (const [scheduleId, copy] of this.#copies) {
      if (copy.answer && now - copy.answer.at >= this.#freshMs) this.#copies.delete(scheduleId);
    }
  }

  /** How many schedules' maps are kept or being read (for tests). */
  get size(): number {
    return this.#copies.size;
  }

  #forgetCopy(scheduleId: number, copy: Copy): void {
    if (this.#copies.get(scheduleId) === copy) this.#copies.delete(scheduleId);
  }
}

/** The map with one more seat taken (or a held one sold); a new object, since earlier answers may still be sent. */
export function withClaim(map: SeatAvailability, seat: TakenSeat): SeatAvailability {
  const others = (ids: number[]) => ids.filter((id) => id !== seat.id);
  const adding = (ids: number[]) => [...others(ids), seat.id].sort((a, b) => a - b);
  return {
    free: map.free.filter((s) => s.id !== seat.id),
    held: seat.status === 'HELD' ? adding(map.held) : others(map.held),
    sold: seat.status === 'SOLD' ? adding(map.sold) : others(map.sold),
  };
}
