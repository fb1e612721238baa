import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import type { Seal } from '../idempotency.ts';
import { newId } from '../ids.ts';
import type { BookingStore } from './model.ts';

export const MIN_CHARGE = 1;
export const MAX_CHARGE = 1_000_000;

export class PointsService {
  readonly #store: BookingStore;
  readonly #clock: Clock;

  constructor(opts: { store: BookingStore; clock: Clock }) {
    this.#store = opts.store;
    this.#clock = opts.clock;
  }

  async balance(userId: number): Promise<number> {
    const balance = await this.#store.balanceOf(userId);
    if (balance === undefined) throw new DomainError('USER_NOT_FOUND', `User ${userId} does not exist`);
    return balance;
  }

  /**
   * Adds points: one ledger row and one relative update, so concurrent charges never lose each other.
   * Resolves to the new balance; `seal` stores the idempotency key's answer in the same transaction.
   */
  async charge(userId: number, amount: number, seal?: Seal<number>): Promise<number> {
    if (!Number.isInteger(amount) || amount < MIN_CHARGE || amount > MAX_CHARGE) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `amount must be an integer from ${MIN_CHARGE} to ${MAX_CHARGE}`,
      );
    }
    const now = this.#clock.now();
    return this.#store.transaction(async (tx) => {
      if (!(await tx.creditWallet(userId, amount, now))) {
        throw new DomainError('USER_NOT_FOUND', `User ${userId} does not exist`);
      }
      await tx.appendLedger({
        id: newId(now),
        userId,
        delta: amount,
        reason: 'CHARGE',
        referenceId: null,
        createdAt: now,
      });
      const balance = (await tx.balanceOf(userId)) ?? 0;
      await seal?.(tx, balance);
      return balance;
    });
  }
}
