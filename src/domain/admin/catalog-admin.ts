import type { SeatMapKind } from '../catalog.ts';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import type { Actor, AuditEntityType, AuditRecord } from './audit.ts';
import {
  planSeatMap,
  type SeatMapDocument,
  type SeatPlace,
  type StoredSeat,
  seatMapFromCsv,
  seatMapFromDocument,
  seatMapSummary,
} from './seat-map.ts';

export interface AdminConcert {
  id: number;
  title: string;
  artist: string;
  venue: string;
  published: boolean;
}

export interface AdminSchedule {
  id: number;
  concertId: number;
  startsAt: number;
  /** Null when the show is at the concert's venue. */
  venue: string | null;
  published: boolean;
  seatMap: SeatMapKind;
  seatCount: number;
  /** Tiered maps price from it; stored maps keep their cheapest seat here. */
  basePrice: number;
}

export type SeatStatus = 'FREE' | 'HELD' | 'SOLD';

export interface SeatState extends StoredSeat {
  status: SeatStatus;
}

export interface LiveClaim {
  seatId: number;
  status: 'HELD' | 'SOLD';
}

/** The storage steps of catalog changes, in one transaction with their audit entry. */
export interface CatalogAdminTx {
  /** Largest concert id stored (0 when none). */
  maxConcertId(): Promise<number>;
  /** False when the id is taken (a concurrent create): the caller tries the next one. */
  insertConcert(c: AdminConcert, now: number): Promise<boolean>;
  /** Reads the concert and keeps others from changing it until the transaction ends. */
  lockConcert(id: number): Promise<AdminConcert | undefined>;
  updateConcert(c: AdminConcert): Promise<void>;
  maxScheduleId(): Promise<number>;
  insertSchedule(s: AdminSchedule): Promise<boolean>;
  lockSchedule(id: number): Promise<AdminSchedule | undefined>;
  updateSchedule(s: AdminSchedule): Promise<void>;
  seatsOf(scheduleId: number): Promise<StoredSeat[]>;
  /** Largest seat id the schedule has ever used (stored seats and claims), so a removed seat's id is not reused. */
  maxSeatId(scheduleId: number): Promise<number>;
  insertSeats(scheduleId: number, seats: StoredSeat[]): Promise<void>;
  /** Writing the rows first locks them, so a hold deciding on one of them waits for this transaction. */
  updateSeatPrices(scheduleId: number, seats: StoredSeat[]): Promise<void>;
  deleteSeats(scheduleId: number, seatIds: number[]): Promise<void>;
  /** Seats among `seatIds` that are held (unexpired) or sold, as committed right now. */
  liveClaims(scheduleId: number, seatIds: number[], now: number): Promise<LiveClaim[]>;
  audit(record: AuditRecord): Promise<void>;
}

export interface CatalogAdminStore {
  transaction<T>(fn: (tx: CatalogAdminTx) => Promise<T>): Promise<T>;
  listConcerts(afterId: number, limit: number): Promise<AdminConcert[]>;
  findConcert(id: number): Promise<AdminConcert | undefined>;
  schedulesOf(concertId: number): Promise<AdminSchedule[]>;
  findSchedule(id: number): Promise<AdminSchedule | undefined>;
  /** Every stored seat with whether it is free, held or sold now. */
  seatStates(scheduleId: number, now: number): Promise<SeatState[]>;
}

export interface ConcertInput {
  title: string;
  artist: string;
  venue: string;
}

export interface ScheduleInput {
  startsAt: number;
  venue?: string | null;
}

export interface SeatMapChange {
  scheduleId: number;
  seatCount: number;
  added: number;
  removed: number;
  repriced: number;
  unchanged: number;
}

const ID_ATTEMPTS = 5;

/** Operators' catalog: concerts, schedules and seat maps; every change is audited in its own transaction. */
export class CatalogAdmin {
  readonly #store: CatalogAdminStore;
  readonly #clock: Clock;

  readonly #afterChange: () => void;

  /** `afterChange` runs after each committed change, e.g. to drop this process's cached copies of schedules. */
  constructor(store: CatalogAdminStore, clock: Clock, afterChange: () => void = () => {}) {
    this.#store = store;
    this.#clock = clock;
    this.#afterChange = afterChange;
  }

  async #change<T>(fn: (tx: CatalogAdminTx) => Promise<T>): Promise<T> {
    const result = await this.#store.transaction(fn);
    this.#afterChange();
    return result;
  }

  async listConcerts(afterId: number, limit: number): Promise<AdminConcert[]> {
    return this.#store.listConcerts(afterId, limit);
  }

  async concert(id: number): Promise<{ concert: AdminConcert; schedules: AdminSchedule[] }> {
    const concert = await this.#store.findConcert(id);
    if (!concert) throw concertNotFound(id);
    return { concert, schedules: await this.#store.schedulesOf(id) };
  }

  async schedule(id: number): Promise<AdminSchedule> {
    const schedule = await this.#store.findSchedule(id);
    if (!schedule) throw scheduleNotFound(id);
    return schedule;
  }

  async seats(scheduleId: number): Promise<{ schedule: AdminSchedule; seats: SeatState[] }> {
    const schedule = await this.schedule(scheduleId);
    return { schedule, seats: await this.#store.seatStates(scheduleId, this.#clock.now()) };
  }

  /** New concerts are unpublished until an operator publishes them. */
  async createConcert(input: ConcertInput, actor: Actor): Promise<AdminConcert> {
    const now = this.#clock.now();
    return this.#change(async (tx) => {
      for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
        const concert: AdminConcert = { id: (await tx.maxConcertId()) + 1, ...input, published: false };
        if (!(await tx.insertConcert(concert, now))) continue;
        await tx.audit(record(now, actor, 'concert.create', 'concert', concert.id, null, concert));
        return concert;
      }
      throw new DomainError('CONFLICT_RETRY_EXHAUSTED', 'Too many concerts created at once; retry', {
        retryAfterSeconds: 1,
      });
    });
  }

  async editConcert(id: number, changes: Partial<ConcertInput>, actor: Actor): Promise<AdminConcert> {
    return this.#changeConcert(id, actor, 'concert.edit', (c) => ({ ...c, ...changes }));
  }

  async publishConcert(id: number, published: boolean, actor: Actor): Promise<AdminConcert> {
    const action = published ? 'concert.publish' : 'concert.unpublish';
    return this.#changeConcert(id, actor, action, (c) => ({ ...c, published }));
  }

  async createSchedule(concertId: number, input: ScheduleInput, actor: Actor): Promise<AdminSchedule> {
    const now = this.#clock.now();
    return this.#change(async (tx) => {
      if (!(await tx.lockConcert(concertId))) throw concertNotFound(concertId);
      for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
        const schedule: AdminSchedule = {
          id: (await tx.maxScheduleId()) + 1,
          concertId,
          startsAt: input.startsAt,
          venue: input.venue ?? null,
          published: false,
          seatMap: 'stored',
          seatCount: 0,
          basePrice: 0,
        };
        if (!(await tx.insertSchedule(schedule))) continue;
        await tx.audit(record(now, actor, 'schedule.create', 'schedule', schedule.id, null, schedule));
        return schedule;
      }
      throw new DomainError('CONFLICT_RETRY_EXHAUSTED', 'Too many schedules created at once; retry', {
        retryAfterSeconds: 1,
      });
    });
  }

  async editSchedule(id: number, changes: Partial<ScheduleInput>, actor: Actor): Promise<AdminSchedule> {
    return this.#changeSchedule(id, actor, 'schedule.edit', (s) => ({ ...s, ...changes }));
  }

  async publishSchedule(id: number, published: boolean, actor: Actor): Promise<AdminSchedule> {
    const action = published ? 'schedule.publish' : 'schedule.unpublish';
    return this.#changeSchedule(id, actor, action, (s) => ({ ...s, published }));
  }

  importSeatMapCsv(scheduleId: number, csv: string, actor: Actor): Promise<SeatMapChange> {
    return this.#replaceSeatMap(scheduleId, seatMapFromCsv(csv), actor, 'csv');
  }

  importSeatMapDocument(scheduleId: number, doc: SeatMapDocument, actor: Actor): Promise<SeatMapChange> {
    return this.#replaceSeatMap(scheduleId, seatMapFromDocument(doc), actor, 'json');
  }

  async repriceSeat(scheduleId: number, seatId: number, price: number, actor: Actor): Promise<StoredSeat> {
    const now = this.#clock.now();
    return this.#change(async (tx) => {
      const schedule = await lockStoredMap(tx, scheduleId);
      const seat = (await tx.seatsOf(scheduleId)).find((s) => s.id === seatId);
      if (!seat) throw seatNotFound(scheduleId, seatId);
      if (seat.price === price) return seat;
      const after = { ...seat, price };
      await tx.updateSeatPrices(scheduleId, [after]);
      await refuseSeatsInUse(tx, scheduleId, [seatId], now);
      await tx.updateSchedule(withSeats(schedule, await tx.seatsOf(scheduleId)));
      await tx.audit(record(now, actor, 'seat.reprice', 'seat', `${scheduleId}:${seatId}`, seat, after));
      return after;
    });
  }

  /** Reprices every seat of a section that has another price; all of them or none. */
  async repriceSection(
    scheduleId: number,
    section: string,
    price: number,
    actor: Actor,
  ): Promise<{ section: string; price: number; seats: number; repriced: number }> {
    const now = this.#clock.now();
    return this.#change(async (tx) => {
      const schedule = await lockStoredMap(tx, scheduleId);
      const seats = (await tx.seatsOf(scheduleId)).filter((s) => s.section === section);
      if (seats.length === 0)
        throw new DomainError('SECTION_NOT_FOUND', `Schedule ${scheduleId} has no section ${section}`);
      const changed = seats.filter((s) => s.price !== price).map((s) => ({ ...s, price }));
      if (changed.length > 0) {
        await tx.updateSeatPrices(scheduleId, changed);
        await refuseSeatsInUse(
          tx,
          scheduleId,
          changed.map((s) => s.id),
          now,
        );
        await tx.updateSchedule(withSeats(schedule, await tx.seatsOf(scheduleId)));
        await tx.audit(
          record(
            now,
            actor,
            'seat-map.reprice-section',
            'seat-map',
            scheduleId,
            { section, seatMap: seatMapSummary(seats).sections[0] },
            { section, price, repriced: changed.length },
          ),
        );
      }
      return { section, price, seats: seats.length, repriced: changed.length };
    });
  }

  async removeSeat(scheduleId: number, seatId: number, actor: Actor): Promise<void> {
    const now = this.#clock.now();
    await this.#change(async (tx) => {
      const schedule = await lockStoredMap(tx, scheduleId);
      const seat = (await tx.seatsOf(scheduleId)).find((s) => s.id === seatId);
      if (!seat) throw seatNotFound(scheduleId, seatId);
      await tx.deleteSeats(scheduleId, [seatId]);
      await refuseSeatsInUse(tx, scheduleId, [seatId], now);
      await tx.updateSchedule(withSeats(schedule, await tx.seatsOf(scheduleId)));
      await tx.audit(record(now, actor, 'seat.remove', 'seat', `${scheduleId}:${seatId}`, seat, null));
    });
  }

  /** Replaces the seat map; a seat that is held or sold keeps its place and price or the import is refused. */
  async #replaceSeatMap(
    scheduleId: number,
    places: SeatPlace[],
    actor: Actor,
    format: 'csv' | 'json',
  ): Promise<SeatMapChange> {
    const now = this.#clock.now();
    return this.#change(async (tx) => {
      const schedule = await lockStoredMap(tx, scheduleId);
      const current = await tx.seatsOf(scheduleId);
      const plan = planSeatMap(current, places, (await tx.maxSeatId(scheduleId)) + 1);
      await tx.deleteSeats(
        scheduleId,
        plan.removed.map((s) => s.id),
      );
      await tx.updateSeatPrices(scheduleId, plan.repriced);
      await refuseSeatsInUse(
        tx,
        scheduleId,
        [...plan.removed, ...plan.repriced].map((s) => s.id),
        now,
      );
      await tx.insertSeats(scheduleId, plan.added);
      await tx.updateSchedule(withSeats(schedule, plan.seats));
      const change: SeatMapChange = {
        scheduleId,
        seatCount: plan.seats.length,
        added: plan.added.length,
        removed: plan.removed.length,
        repriced: plan.repriced.length,
        unchanged: plan.unchanged,
      };
      await tx.audit(
        record(now, actor, 'seat-map.import', 'seat-map', scheduleId, seatMapSummary(current), {
          ...seatMapSummary(plan.seats),
          format,
          ...change,
        }),
      );
      return change;
    });
  }

  async #changeConcert(
    id: number,
    actor: Actor,
    action: string,
    change: (c: AdminConcert) => AdminConcert,
  ): Promise<AdminConcert> {
    const now = this.#clock.now();
    return this.#change(async (tx) => {
      const before = await tx.lockConcert(id);
      if (!before) throw concertNotFound(id);
      const after = change(before);
      await tx.updateConcert(after);
      await tx.audit(record(now, actor, action, 'concert', id, before, after));
      return after;
    });
  }

  async #changeSchedule(
    id: number,
    actor: Actor,
    action: string,
    change: (s: AdminSchedule) => AdminSchedule,
  ): Promise<AdminSchedule> {
    const now = this.#clock.now();
    return this.#change(async (tx) => {
      const before = await tx.lockSchedule(id);
      if (!before) throw scheduleNotFound(id);
      const after = change(before);
      await tx.updateSchedule(after);
      await tx.audit(record(now, actor, action, 'schedule', id, before, after));
      return after;
    });
  }
}

/** The demo's implicit seats are computed, not stored: they can be neither repriced nor replaced. */
async function lockStoredMap(tx: CatalogAdminTx, scheduleId: number): Promise<AdminSchedule> {
  const schedule = await tx.lockSchedule(scheduleId);
  if (!schedule) throw scheduleNotFound(scheduleId);
  if (schedule.seatMap !== 'stored')
    throw new DomainError(
      'SEAT_MAP_NOT_EDITABLE',
      `Schedule ${scheduleId} has the demo's implicit seats; create a schedule to enter a seat map`,
    );
  return schedule;
}

/** Run after the rows changed (and so are locked): a hold that committed first is seen here. */
async function refuseSeatsInUse(tx: CatalogAdminTx, scheduleId: number, seatIds: number[], now: number) {
  if (seatIds.length === 0) return;
  const inUse = await tx.liveClaims(scheduleId, seatIds, now);
  if (inUse.length === 0) return;
  throw new DomainError(
    'SEAT_IN_USE',
    `${inUse.length} seat${inUse.length === 1 ? ' is' : 's are'} held or sold and cannot be removed or repriced`,
    { scheduleId, seats: inUse.slice(0, 100) },
  );
}

function withSeats(schedule: AdminSchedule, seats: StoredSeat[]): AdminSchedule {
  const basePrice = seats.reduce(
    (min, s) => Math.min(min, s.price),
    seats.length ? Number.MAX_SAFE_INTEGER : 0,
  );
  return { ...schedule, seatCount: seats.length, basePrice };
}

function record(
  at: number,
  actor: Actor,
  action: string,
  entityType: AuditEntityType,
  entityId: number | string,
  before: unknown,
  after: unknown,
): AuditRecord {
  return { at, actor, action, entityType, entityId: String(entityId), before, after };
}

const concertNotFound = (id: number) => new DomainError('CONCERT_NOT_FOUND', `Concert ${id} does not exist`);
const scheduleNotFound = (id: number) =>
  new DomainError('SCHEDULE_NOT_FOUND', `Schedule ${id} does not exist`);
const seatNotFound = (scheduleId: number, seatId: number) =>
  new DomainError('SEAT_NOT_FOUND', `Seat ${seatId} does not exist in schedule ${scheduleId}`);
