import type { CatalogService } from '../catalog.ts';
import { seatOf } from '../catalog.ts';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import { claimKeyFirst, inProgress, type Seal } from '../idempotency.ts';
import { newId } from '../ids.ts';
import {
  type BookingEvent,
  type BookingStore,
  type BookingTx,
  effectiveStatus,
  type Reservation,
  type SeatClaim,
} from './model.ts';

export interface HoldRequest {
  userId: number;
  scheduleId: number;
  seatId: number;
}

export class ReservationService {
  readonly #store: BookingStore;
  readonly #catalog: CatalogService;
  readonly #clock: Clock;
  readonly #holdTtlMs: number;
  readonly #maxHoldsPerUser: number;

  constructor(opts: {
    store: BookingStore;
    catalog: CatalogService;
    clock: Clock;
    holdTtlSeconds: number;
    /** Most seats one user may hold at once; paid, released and lapsed holds do not count. */
    maxHoldsPerUser: number;
  }) {
    this.#store = opts.store;
    this.#catalog = opts.catalog;
    this.#clock = opts.clock;
    this.#holdTtlMs = opts.holdTtlSeconds * 1000;
    this.#maxHoldsPerUser = opts.maxHoldsPerUser;
  }

  /**
   * Holds a seat for the user; the seat's primary key decides a race, the loser gets SEAT_ALREADY_RESERVED.
   * One transaction: the user's limit is checked under a lock of the user, and `seal` stores the
   * idempotency key's answer with the hold.
   */
  async hold(req: HoldRequest, seal?: Seal<Reservation>): Promise<Reservation> {
    const schedule = await this.#catalog.getSchedule(req.scheduleId);
    const tiered = schedule.seatMap === 'tiered' ? seatOf(schedule, req.seatId) : undefined;
    const now = this.#clock.now();
    // A tiered seat's price needs no read: a free seat is held in one call to the store, the common case,
    // which also stores the idempotency key's answer. A taken seat goes on to the transaction below, which
    // takes over a claim that has lapsed.
    if (tiered) {
      const fresh = this.#newHold(req, tiered.price, now);
      const answer = seal?.answer(fresh.reservation);
      const outcome = await this.#store.holdFreeSeatWithinLimit({
        ...fresh,
        maxHolds: this.#maxHoldsPerUser,
        now,
        ...(answer && { answer: { claim: answer.claim, outcome: answer.outcome, newKey: answer.newKey } }),
      });
      if (outcome.status === 'key_exists') throw claimKeyFirst();
      if (answer?.newKey) answer.claimed();
      if (outcome.status === 'held') {
        answer?.written();
        this.#catalog.seatClaimed(req.scheduleId, { id: req.seatId, status: 'HELD' });
        return fresh.reservation;
      }
      if (outcome.status === 'superseded') throw inProgress();
      if (outcome.status === 'no_user') throw userNotFound(req.userId);
      if (outcome.status === 'limit') throw this.#holdLimitReached(outcome.held);
      // Taken: a lost race in an on-sale, most often to a live hold or a sale. One read without a lock tells it
      // from a lapsed claim, which only the transaction below may take over; a live one is answered at once, so
      // a crowd losing races does not hold connections and its users' locks for a transaction each.
      const existing = await this.#store.findClaim(req.scheduleId, req.seatId);
      if (existing && !lapsed(existing, now)) {
        this.#catalog.seatClaimed(req.scheduleId, { id: req.seatId, status: existing.status });
        throw seatTaken(req);
      }
    }
    // A key still to be claimed is claimed first here: this transaction writes its answer with `seal`.
    if (seal && !seal.keyClaimed()) throw claimKeyFirst();
    const held = await this.#store.transaction(async (tx) => {
      await this.#assertMayHoldMore(tx, req.userId, now);
      // A stored seat's row is read and locked here, so an operator cannot remove or reprice it under the hold.
      const price = tiered?.price ?? (await storedSeatPrice(tx, schedule.id, req.seatId));
      const { reservation, claim, event } = this.#newHold(req, price, now);
      if (
        !(await tx.holdFreeSeat(claim, reservation, event)) &&
        !(await this.#holdLapsedSeat(tx, claim, reservation, event, now))
      )
        return undefined;
      await seal?.(tx, reservation);
      return reservation;
    });
    if (!held) {
      this.#catalog.forgetSeatMap(req.scheduleId);
      throw seatTaken(req);
    }
    this.#catalog.seatClaimed(req.scheduleId, { id: req.seatId, status: 'HELD' });
    return held;
  }

  #newHold(req: HoldRequest, price: number, now: number) {
    const reservation: Reservation = {
      id: newId(now),
      userId: req.userId,
      scheduleId: req.scheduleId,
      seatId: req.seatId,
      status: 'HELD',
      price,
      createdAt: now,
      expiresAt: now + this.#holdTtlMs,
      updatedAt: now,
    };
    const claim: SeatClaim = {
      scheduleId: req.scheduleId,
      seatId: req.seatId,
      reservationId: reservation.id,
      userId: req.userId,
      status: 'HELD',
      expiresAt: reservation.expiresAt,
    };
    const event: BookingEvent = {
      eventId: newId(now),
      aggregateId: reservation.id,
      type: 'reservation.held',
      payload: eventPayload(reservation),
      createdAt: now,
    };
    return { reservation, claim, event };
  }

  /** The reservation as its owner sees it; another user's is NOT_RESERVATION_OWNER. */
  async get(reservationId: string, callerId?: number): Promise<Reservation> {
    const r = await this.#store.findReservation(reservationId);
    if (!r) throw new DomainError('RESERVATION_NOT_FOUND', `Reservation ${reservationId} does not exist`);
    if (callerId !== undefined && r.userId !== callerId) {
      throw new DomainError('NOT_RESERVATION_OWNER', 'This reservation belongs to another user');
    }
    return { ...r, status: effectiveStatus(r, this.#clock.now()) };
  }

  async listForUser(userId: number, limit = 50): Promise<Reservation[]> {
    const now = this.#clock.now();
    return (await this.#store.reservationsOfUser(userId, limit)).map((r) => ({
      ...r,
      status: effectiveStatus(r, now),
    }));
  }

  /** Releases a hold early; the seat is free at once. */
  async release(reservationId: string, callerId?: number): Promise<Reservation> {
    const now = this.#clock.now();
    const released = await this.#store.transaction(async (tx) => {
      const r = await tx.findReservation(reservationId);
      if (!r) throw new DomainError('RESERVATION_NOT_FOUND', `Reservation ${reservationId} does not exist`);
      if (callerId !== undefined && r.userId !== callerId) {
        throw new DomainError('NOT_RESERVATION_OWNER', 'This reservation belongs to another user');
      }
      assertHeld(r, now);
      await tx.dropHeldClaim(r);
      if (!(await tx.setReservationStatus(reservationId, 'HELD', 'RELEASED', now))) {
        assertHeld((await tx.findReservation(reservationId)) ?? r, now);
      }
      const after = { ...r, status: 'RELEASED' as const, updatedAt: now };
      await tx.appendEvent({
        eventId: newId(now),
        aggregateId: r.id,
        type: 'reservation.released',
        payload: eventPayload(after),
        createdAt: now,
      });
      return after;
    });
    this.#catalog.forgetSeatMap(released.scheduleId);
    return released;
  }

  /** Marks lapsed holds EXPIRED and frees their claims. Not needed for correctness: a new hold takes a lapsed seat. */
  async expireLapsedHolds(limit = 200): Promise<number> {
    const now = this.#clock.now();
    let expired = 0;
    for (const r of await this.#store.lapsedHolds(now, limit)) {
      const done = await this.#store.transaction(async (tx) => {
        await tx.dropHeldClaim(r, now);
        return this.#markExpired(tx, r.id, now);
      });
      if (done) expired++;
    }
    return expired;
  }

  /** The seat had a claim: a live one wins; a lapsed one is taken over, and a dropped one taken afresh. */
  async #holdLapsedSeat(
    tx: BookingTx,
    claim: SeatClaim,
    reservation: Reservation,
    event: BookingEvent,
    now: number,
  ): Promise<boolean> {
    if (!(await tx.insertClaim(claim))) {
      const existing = await tx.findClaim(claim.scheduleId, claim.seatId);
      if (!existing || !lapsed(existing, now)) return false;
      if (!(await tx.takeOverLapsedClaim(existing.reservationId, claim, now))) return false;
      await this.#markExpired(tx, existing.reservationId, now);
    }
    await tx.insertReservation(reservation);
    await tx.appendEvent(event);
    return true;
  }

  /** Under the user's lock, so concurrent holds of one user are counted one after another. */
  async #assertMayHoldMore(tx: BookingTx, userId: number, now: number): Promise<void> {
    if (!(await tx.lockUser(userId))) throw userNotFound(userId);
    const held = await tx.liveHoldsOf(userId, now);
    if (held >= this.#maxHoldsPerUser) throw this.#holdLimitReached(held);
  }

  #holdLimitReached(held: number): DomainError {
    return new DomainError(
      'HOLD_LIMIT_REACHED',
      `A user may hold at most ${this.#maxHoldsPerUser} seats at once; pay for or release one first`,
      { limit: this.#maxHoldsPerUser, held },
    );
  }

  async #markExpired(tx: BookingTx, reservationId: string, now: number): Promise<boolean> {
    if (!(await tx.setReservationStatus(reservationId, 'HELD', 'EXPIRED', now))) return false;
    const r = await tx.findReservation(reservationId);
    if (r) {
      await tx.appendEvent({
        eventId: newId(now),
        aggregateId: r.id,
        type: 'reservation.expired',
        payload: eventPayload(r),
        createdAt: now,
      });
    }
    return true;
  }
}

const userNotFound = (userId: number) => new DomainError('USER_NOT_FOUND', `User ${userId} does not exist`);

const lapsed = (c: SeatClaim, now: number) => c.status === 'HELD' && c.expiresAt <= now;

const seatTaken = (req: HoldRequest): DomainError =>
  new DomainError(
    'SEAT_ALREADY_RESERVED',
    `Seat ${req.seatId} of schedule ${req.scheduleId} is already taken`,
    {
      scheduleId: req.scheduleId,
      seatId: req.seatId,
    },
  );

async function storedSeatPrice(tx: BookingTx, scheduleId: number, seatId: number): Promise<number> {
  const seat = await tx.lockStoredSeat(scheduleId, seatId);
  if (!seat)
    throw new DomainError('SEAT_NOT_FOUND', `Seat ${seatId} does not exist in schedule ${scheduleId}`);
  return seat.price;
}

/** Throws the code that says why a reservation is no longer a live hold. */
export function assertHeld(r: Reservation, now: number): void {
  const status = effectiveStatus(r, now);
  if (status === 'HELD') return;
  if (status === 'CONFIRMED') throw new DomainError('ALREADY_PAID', `Reservation ${r.id} is already paid`);
  if (status === 'EXPIRED') throw new DomainError('RESERVATION_EXPIRED', `Reservation ${r.id} has expired`);
  throw new DomainError('RESERVATION_NOT_HELD', `Reservation ${r.id} was released`);
}

export function eventPayload(r: Reservation): Record<string, unknown> {
  return {
    reservationId: r.id,
    userId: r.userId,
    scheduleId: r.scheduleId,
    seatId: r.seatId,
    price: r.price,
    status: r.status,
    expiresAt: r.expiresAt,
  };
}
