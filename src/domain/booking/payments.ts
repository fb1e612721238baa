import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { BookingStore, Payment } from './model.ts';
import { assertHeld } from './reservations.ts';

export interface PaymentReceipt {
  payment: Payment;
  balance: number;
}

export class PaymentService {
  readonly #store: BookingStore;
  readonly #clock: Clock;
  readonly #afterPaid: (userId: number) => Promise<void> | void;

  constructor(opts: {
    store: BookingStore;
    clock: Clock;
    /** Runs after the payment committed, e.g. to free the user's waiting-room slot. */
    afterPaid?: (userId: number) => Promise<void> | void;
  }) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#afterPaid = opts.afterPaid ?? (() => {});
  }

  /**
   * All at once or not at all: the seat is sold only if the hold is live, points are taken only if
   * they cover the price, and the payment row (unique per reservation) and its event are written.
   */
  async pay(userId: number, reservationId: string): Promise<PaymentReceipt> {
    const now = this.#clock.now();
    const r = await this.#store.findHold(reservationId);
    if (!r) throw new DomainError('RESERVATION_NOT_FOUND', `Reservation ${reservationId} does not exist`);
    if (r.userId !== userId)
      throw new DomainError('NOT_RESERVATION_OWNER', 'This reservation belongs to another user');
    assertHeld(r, now);
    const payment: Payment = { id: newId(now), reservationId, userId, amount: r.price, createdAt: now };
    const outcome = await this.#store.payForHold({
      payment,
      ledger: {
        id: newId(now),
        userId,
        delta: -r.price,
        reason: 'PAYMENT',
        referenceId: reservationId,
        createdAt: now,
      },
      event: {
        eventId: newId(now),
        aggregateId: reservationId,
        type: 'payment.completed',
        payload: {
          paymentId: payment.id,
          reservationId,
          userId,
          amount: r.price,
          scheduleId: r.scheduleId,
          seatId: r.seatId,
        },
        createdAt: now,
      },
      now,
    });
    if (outcome.status === 'short') {
      throw new DomainError(
        'INSUFFICIENT_POINTS',
        `The price is ${r.price} points; the balance is ${outcome.balance}`,
        { price: r.price, balance: outcome.balance },
      );
    }
    if (outcome.status === 'not_held') {
      assertHeld((await this.#store.findReservation(reservationId)) ?? r, now);
      throw new DomainError('RESERVATION_EXPIRED', `Reservation ${reservationId} is no longer held`);
    }
    const receipt = { payment, balance: outcome.balance };
    await this.#afterPaid(userId);
    return receipt;
  }
}
