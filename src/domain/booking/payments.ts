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
   * In one short transaction: the seat is sold only if the hold is live, points are taken only if
   * they cover the price, and the payment row (unique per reservation) and its event are written.
   */
  async pay(userId: number, reservationId: string): Promise<PaymentReceipt> {
    const now = this.#clock.now();
    const receipt = await this.#store.transaction(async (tx) => {
      const r = await tx.findReservation(reservationId);
      if (!r) throw new DomainError('RESERVATION_NOT_FOUND', `Reservation ${reservationId} does not exist`);
      if (r.userId !== userId)
        throw new DomainError('NOT_RESERVATION_OWNER', 'This reservation belongs to another user');
      assertHeld(r, now);
      if (!(await tx.sellClaim(reservationId, now))) {
        assertHeld((await tx.findReservation(reservationId)) ?? r, now);
        throw new DomainError('RESERVATION_EXPIRED', `Reservation ${reservationId} is no longer held`);
      }
      if (!(await tx.debitWallet(userId, r.price, now))) {
        const balance = (await tx.balanceOf(userId)) ?? 0;
        throw new DomainError(
          'INSUFFICIENT_POINTS',
          `The price is ${r.price} points; the balance is ${balance}`,
          {
            price: r.price,
            balance,
          },
        );
      }
      if (!(await tx.setReservationStatus(reservationId, 'HELD', 'CONFIRMED', now))) {
        throw new DomainError('ALREADY_PAID', `Reservation ${reservationId} is already paid`);
      }
      const payment: Payment = { id: newId(now), reservationId, userId, amount: r.price, createdAt: now };
      await tx.insertPayment(payment);
      await tx.appendLedger({
        id: newId(now),
        userId,
        delta: -r.price,
        reason: 'PAYMENT',
        referenceId: reservationId,
        createdAt: now,
      });
      await tx.appendEvent({
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
      });
      return { payment, balance: (await tx.balanceOf(userId)) ?? 0 };
    });
    await this.#afterPaid(userId);
    return receipt;
  }
}
