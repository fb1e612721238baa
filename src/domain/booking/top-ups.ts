import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { BookingStore } from './model.ts';
import { verifyProviderSignature } from './provider-signature.ts';

/** What a provider's callback says: its event credited `amount` points to `userId`. */
export interface TopUpEvent {
  eventId: string;
  userId: number;
  amount: number;
}

export type TopUpOutcome = 'CREDITED' | 'ALREADY_CREDITED';

/**
 * Money enters through the payment provider's signed callback: the signature is checked against the shared
 * secret, and the event id is stored in the transaction that writes the ledger row, so a replay credits nothing.
 */
export class ProviderTopUps {
  readonly #store: BookingStore;
  readonly #clock: Clock;
  readonly #secret: string;
  readonly #toleranceSeconds: number;

  constructor(opts: { store: BookingStore; clock: Clock; secret: string; toleranceSeconds: number }) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#secret = opts.secret;
    this.#toleranceSeconds = opts.toleranceSeconds;
  }

  /** Throws PROVIDER_SIGNATURE_INVALID unless the provider signed this very body lately. */
  verify(header: string | undefined, rawBody: Buffer): void {
    verifyProviderSignature({
      secret: this.#secret,
      header,
      rawBody,
      nowMs: this.#clock.now(),
      toleranceSeconds: this.#toleranceSeconds,
    });
  }

  /** Credits the event once; the same event again is ALREADY_CREDITED, the same id with other content a conflict. */
  async confirm(event: TopUpEvent): Promise<TopUpOutcome> {
    const now = this.#clock.now();
    const ledgerId = newId(now);
    return this.#store.transaction(async (tx) => {
      if (!(await tx.recordProviderTopUp({ ...event, ledgerId, createdAt: now }))) {
        const stored = await tx.findProviderTopUp(event.eventId);
        if (stored?.userId !== event.userId || stored.amount !== event.amount)
          throw new DomainError(
            'PROVIDER_EVENT_MISMATCH',
            `Provider event ${event.eventId} was credited before with another user or amount`,
          );
        return 'ALREADY_CREDITED';
      }
      if (!(await tx.creditWallet(event.userId, event.amount, now)))
        throw new DomainError('USER_NOT_FOUND', `User ${event.userId} does not exist`);
      await tx.appendLedger({
        id: ledgerId,
        userId: event.userId,
        delta: event.amount,
        reason: 'TOP_UP',
        referenceId: null,
        createdAt: now,
      });
      return 'CREDITED';
    });
  }
}
