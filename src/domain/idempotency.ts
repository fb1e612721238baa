import type { Clock } from './clock.ts';
import { DomainError, type ErrorCode, isTransient } from './errors.ts';

/** What one request under a key came to: its value, or the business error it was refused with. */
export type IdempotentOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'replay'; outcome: IdempotentOutcome }
  | { state: 'mismatch' }
  | { state: 'in_progress' };

/** Storage for idempotency keys; implemented in src/db/idempotency-repository.ts. */
export interface IdempotencyStore {
  /** Claims the key for this request, or says what is already stored under it. */
  begin(
    scope: string,
    key: string,
    requestHash: string,
    now: number,
    expiresAt: number,
  ): Promise<IdempotencyBegin>;
  complete(scope: string, key: string, outcome: IdempotentOutcome): Promise<void>;
  abandon(scope: string, key: string): Promise<void>;
  purgeExpired(now: number): Promise<number>;
}

export interface IdempotentResult {
  outcome: IdempotentOutcome;
  /** True when the outcome is the stored one of an earlier request. */
  replayed: boolean;
}

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/**
 * The same key with the same request within 24 h returns the stored outcome without doing the work
 * again; with a different request it is IDEMPOTENCY_KEY_REUSED. Business errors are stored too, so a
 * retry sees the same answer; failures that are not the client's (transient) free the key for another try.
 */
export class IdempotencyService {
  readonly #store: IdempotencyStore;
  readonly #clock: Clock;

  constructor(store: IdempotencyStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** A fresh business error is stored, then thrown as it is; a replayed one comes back as an outcome. */
  async run(
    scope: string,
    key: string,
    requestHash: string,
    work: () => Promise<unknown>,
  ): Promise<IdempotentResult> {
    const now = this.#clock.now();
    const begun = await this.#store.begin(scope, key, requestHash, now, now + IDEMPOTENCY_TTL_MS);
    if (begun.state === 'replay') return { outcome: begun.outcome, replayed: true };
    if (begun.state === 'mismatch')
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used with a different request',
      );
    if (begun.state === 'in_progress')
      throw new DomainError(
        'IDEMPOTENCY_IN_PROGRESS',
        'A request with this Idempotency-Key is still running',
        {
          retryAfterSeconds: 1,
        },
      );
    let value: unknown;
    try {
      value = await work();
    } catch (err) {
      if (err instanceof DomainError && !isTransient(err.code)) {
        const { code, message, details } = err;
        await this.#store.complete(scope, key, {
          ok: false,
          error: details ? { code, message, details } : { code, message },
        });
      } else {
        await this.#store.abandon(scope, key).catch(() => {});
      }
      throw err;
    }
    const outcome: IdempotentOutcome = { ok: true, value };
    await this.#store.complete(scope, key, outcome);
    return { outcome, replayed: false };
  }

  /** Forgets keys older than 24 h; the housekeeping timer calls it. */
  purgeExpired(): Promise<number> {
    return this.#store.purgeExpired(this.#clock.now());
  }
}
