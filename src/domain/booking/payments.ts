import type { CatalogService } from '../catalog.ts';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import type { Seal } from '../idempotency.ts';
import { newId } from '../ids.ts';
import type { BookingStore, HoldPayment, Payment, PaymentOutcome, Reservation } from './model.ts';
import { assertHeld } from './reservations.ts';

/** What paying for the hold `r` writes, by `userId` at `now`: the payment, its ledger entry and its event. */
export function holdPaymentOf(
  r: Pick<Reservation, 'id' | 'price' | 'scheduleId' | 'seatId'>,
  userId: number,
  now: number,
): HoldPayment {
  const payment: Payment = { id: newId(now), reservationId: r.id, userId, amount: r.price, createdAt: now };
  return {
    payment,
    scheduleId: r.scheduleId,
    seatId: r.seatId,
    ledger: {
      id: newId(now),
      userId,
      delta: -r.price,
      reason: 'PAYMENT',
      referenceId: r.id,
      createdAt: now,
    },
    event: {
      eventId: newId(now),
      aggregateId: r.id,
      type: 'payment.completed',
      payload: {
        paymentId: payment.id,
        reservationId: r.id,
        userId,
        amount: r.price,
        scheduleId: r.scheduleId,
        seatId: r.seatId,
      },
      createdAt: now,
    },
    now,
  };
}

export interface PaymentReceipt {
  payment: Payment;
  balance: number;
}

export class PaymentService {
  readonly #store: BookingStore;
  readonly #clock: Clock;
  readonly #catalog: CatalogService | undefined;
  readonly #afterPaid: (userId: number) => Promise<void> | void;
  readonly #afterPaidFailed: (err: unknown, userId: number) => void;

  constructor(opts: {
    store: BookingStore;
    clock: Clock;
    /** Told of each seat sold here, so this process's seat map shows it sold at once. */
    catalog?: CatalogService;
    /** Runs after the payment committed, e.g. to free the user's waiting-room slot. */
    afterPaid?: (userId: number) => Promise<void> | void;
    /** Told when afterPaid failed: the money has moved, so the payment still succeeds. */
    afterPaidFailed?: (err: unknown, userId: number) => void;
  }) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#catalog = opts.catalog;
    this.#afterPaid = opts.afterPaid ?? (() => {});
    this.#afterPaidFailed = opts.afterPaidFailed ?? (() => {});
  }

  /**
   * All at once or not at all: the seat is sold only if the hold is live, points are taken only if
   * they cover the price, and the payment row (unique per reservation) and its event are written.
   * With `seal`, in one transaction that also stores the idempotency key's answer.
   */
  async pay(userId: number, reservationId: string, seal?: Seal<PaymentReceipt>): Promise<PaymentReceipt> {
    const now = this.#clock.now();
    const r = await this.#store.findHold(reservationId);
    if (!r) throw new DomainError('RESERVATION_NOT_FOUND', `Reservation ${reservationId} does not exist`);
    if (r.userId !== userId)
      throw new DomainError('NOT_RESERVATION_OWNER', 'This reservation belongs to another user');
    assertHeld(r, now);
    const hold = holdPaymentOf(r, userId, now);
    const { payment } = hold;
    const refuse = async (
      outcome: PaymentOutcome,
      find: (id: string) => Promise<Reservation | undefined>,
    ) => {
      if (outcome.status === 'short') {
        throw new DomainError(
          'INSUFFICIENT_POINTS',
          `The price is ${r.price} points; the balance is ${outcome.balance}`,
          { price: r.price, balance: outcome.balance },
        );
      }
      assertHeld((await find(reservationId)) ?? r, now);
      throw new DomainError('RESERVATION_EXPIRED', `Reservation ${reservationId} is no longer held`);
    };
    const outcome = seal
      ? await this.#store.transaction(async (tx) => {
          const paid = await tx.payForHold(hold);
          // Refused inside the transaction, so a refusal's partial changes roll back with it.
          if (paid.status !== 'paid') return refuse(paid, (id) => tx.findReservation(id));
          await seal(tx, { payment, balance: paid.balance });
          return paid;
        })
      : await this.#store.payForHold(hold);
    if (outcome.status !== 'paid') return refuse(outcome, (id) => this.#store.findReservation(id));
    const receipt = { payment, balance: outcome.balance };
    this.#catalog?.seatClaimed(r.scheduleId, { id: r.seatId, status: 'SOLD' });
    try {
      await this.#afterPaid(userId);
    } catch (err) {
      this.#afterPaidFailed(err, userId);
    }
    return receipt;
  }
}
