import type { IdempotencyClaim, IdempotencyTx, IdempotentOutcome, NewKey } from '../idempotency.ts';

/** What a reservation is to a client: HELD until paid, released or lapsed. */
export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED';

export interface Reservation {
  id: string;
  userId: number;
  scheduleId: number;
  seatId: number;
  status: ReservationStatus;
  price: number;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

export interface SeatClaim {
  scheduleId: number;
  seatId: number;
  reservationId: string;
  userId: number;
  status: 'HELD' | 'SOLD';
  expiresAt: number;
}

export interface LedgerEntry {
  id: string;
  userId: number;
  delta: number;
  /** CHARGE: the demo's direct charge; TOP_UP: confirmed by the payment provider; PAYMENT: a seat paid. */
  reason: 'CHARGE' | 'TOP_UP' | 'PAYMENT';
  referenceId: string | null;
  createdAt: number;
}

/** A top-up the payment provider confirmed, stored once per provider event. */
export interface ProviderTopUp {
  eventId: string;
  userId: number;
  amount: number;
  ledgerId: string;
  createdAt: number;
}

export interface Payment {
  id: string;
  reservationId: string;
  userId: number;
  amount: number;
  createdAt: number;
}

/** What booking tells the rest of the world; written to the outbox with the change it describes. */
export type BookingEventType =
  | 'reservation.held'
  | 'reservation.expired'
  | 'reservation.released'
  | 'payment.completed';

export interface BookingEvent {
  /** Unique per event; delivery is at least once, so a consumer drops a copy whose id it has seen. */
  eventId: string;
  /** Events of one aggregate (a reservation) are published in the order they were written. */
  aggregateId: string;
  type: BookingEventType;
  payload: Record<string, unknown>;
  /** Epoch milliseconds, when the change was committed. */
  createdAt: number;
}

/** A stored hold whose time ran out is expired, whether or not a sweeper has marked it yet. */
export function effectiveStatus(r: Reservation, now: number): ReservationStatus {
  return r.status === 'HELD' && r.expiresAt <= now ? 'EXPIRED' : r.status;
}

/** The storage steps booking needs, all inside one database transaction. */
export interface BookingTx extends IdempotencyTx {
  /** Locks the user for the rest of the transaction, so one user's holds are decided one at a time; false when no such user. */
  lockUser(userId: number): Promise<boolean>;
  /** Seats the user holds whose time has not run out. */
  liveHoldsOf(userId: number, now: number): Promise<number>;
  /**
   * Writes the claim, the reservation and its event at once when the seat has no claim at all;
   * false, and nothing written, when it has one (live or lapsed).
   */
  holdFreeSeat(claim: SeatClaim, reservation: Reservation, event: BookingEvent): Promise<boolean>;
  /** As BookingStore.payForHold, inside this transaction; a refusal may leave changes to roll back. */
  payForHold(p: HoldPayment): Promise<PaymentOutcome>;
  findReservation(id: string): Promise<Reservation | undefined>;
  insertReservation(r: Reservation): Promise<void>;
  /** Moves a reservation from one status to another; false when it was not in `from`. */
  setReservationStatus(
    id: string,
    from: ReservationStatus,
    to: ReservationStatus,
    now: number,
  ): Promise<boolean>;
  /** A seat of a stored seat map, locked until the transaction ends; undefined when there is none. */
  lockStoredSeat(scheduleId: number, seatId: number): Promise<{ price: number } | undefined>;
  /** False when the seat already has a claim (live or lapsed). */
  insertClaim(claim: SeatClaim): Promise<boolean>;
  findClaim(scheduleId: number, seatId: number): Promise<SeatClaim | undefined>;
  /** Replaces a lapsed hold by a new one in one conditional update; false when it was not lapsed. */
  takeOverLapsedClaim(previousReservationId: string, claim: SeatClaim, now: number): Promise<boolean>;
  /** Drops the claim of a hold (release or expiry), found by its seat; false when there was none still held. */
  dropHeldClaim(
    hold: Pick<Reservation, 'id' | 'scheduleId' | 'seatId'>,
    lapsedBefore?: number,
  ): Promise<boolean>;
  /** Adds to a wallet; false when the user has none. */
  creditWallet(userId: number, amount: number, now: number): Promise<boolean>;
  balanceOf(userId: number): Promise<number | undefined>;
  appendLedger(entry: LedgerEntry): Promise<void>;
  /** False, and nothing written, when the provider event was recorded before. */
  recordProviderTopUp(topUp: ProviderTopUp): Promise<boolean>;
  findProviderTopUp(eventId: string): Promise<ProviderTopUp | undefined>;
  appendEvent(e: BookingEvent): Promise<void>;
}

/** A payment for a hold, with every row it writes and the held seat (the claim's key). */
export interface HoldPayment {
  payment: Payment;
  scheduleId: number;
  seatId: number;
  ledger: LedgerEntry;
  event: BookingEvent;
  now: number;
}

/** Paid (the balance after it), short of points (the balance that fell short), or no longer the user's live hold. */
export type PaymentOutcome =
  | { status: 'paid'; balance: number }
  | { status: 'short'; balance: number }
  | { status: 'not_held' };

/** A hold of a seat whose price is known, with the most live holds its user may have (this one not counted). */
export interface LimitedHold {
  claim: SeatClaim;
  reservation: Reservation;
  event: BookingEvent;
  maxHolds: number;
  now: number;
  /**
   * The idempotency key's answer, written with the hold, and the hold written only while the claim is still
   * this request's (pending, claimed at `claimedAt`); else `superseded`, and nothing written. With `newKey`,
   * the key is claimed first in the same transaction, and the claim kept when the hold is refused; when the key
   * is stored already, `key_exists`, and nothing written.
   */
  answer?: { claim: IdempotencyClaim; outcome: IdempotentOutcome; newKey?: NewKey };
}

/**
 * Held; refused because the user already holds `held` live seats or does not exist; or not written because
 * the seat has a claim (live, or lapsed and waiting to be taken over), or because the idempotency claim went to
 * another request, or the new key was stored already.
 */
export type LimitedHoldOutcome =
  | { status: 'held' }
  | { status: 'limit'; held: number }
  | { status: 'no_user' }
  | { status: 'taken' }
  | { status: 'superseded' }
  | { status: 'key_exists' };

export interface BookingStore {
  transaction<T>(fn: (tx: BookingTx) => Promise<T>): Promise<T>;
  /**
   * All or none, with one user's holds decided one at a time: the claim, reservation and event are written
   * when the seat has no claim and the user holds fewer than `maxHolds` live seats; in as few round trips
   * as the store allows.
   */
  holdFreeSeatWithinLimit(h: LimitedHold): Promise<LimitedHoldOutcome>;
  findClaim(scheduleId: number, seatId: number): Promise<SeatClaim | undefined>;
  /**
   * The reservation as it was held: owner, seat, price and expiry, which never change. Its status may
   * have moved on since (a process remembers the holds it made, and reads the others).
   */
  findHold(id: string): Promise<Reservation | undefined>;
  /**
   * All at once or not at all: the user's live hold is sold, the wallet pays `payment.amount` only if it
   * covers it, the reservation is confirmed, and the payment, ledger row and event are written.
   */
  payForHold(p: HoldPayment): Promise<PaymentOutcome>;
  findReservation(id: string): Promise<Reservation | undefined>;
  reservationsOfUser(userId: number, limit: number): Promise<Reservation[]>;
  balanceOf(userId: number): Promise<number | undefined>;
  ledgerSum(userId: number): Promise<number>;
  /** Holds whose time ran out but are still marked HELD, oldest first. */
  lapsedHolds(now: number, limit: number): Promise<Reservation[]>;
}
