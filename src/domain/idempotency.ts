import type { Clock } from './clock.ts';
import { DomainError } from './errors.ts';

export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'replay'; statusCode: number; response: unknown }
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
  complete(scope: string, key: string, statusCode: number, response: unknown): Promise<void>;
  abandon(scope: string, key: string): Promise<void>;
  purgeExpired(now: number): Promise<number>;
}

export interface Outcome {
  statusCode: number;
  body: unknown;
  replayed: boolean;
}

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/**
 * The same key with the same request within 24 h returns the stored answer without doing the work
 * again; with a different request it is IDEMPOTENCY_KEY_REUSED. Business errors are stored too, so a
 * retry sees the same answer; failures that are not the client's (5xx) free the key for another try.
 */
export class IdempotencyService {
  readonly #store: IdempotencyStore;
  readonly #clock: Clock;

  constructor(store: IdempotencyStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  async run(
    scope: string,
    key: string,
    requestHash: string,
    work: () => Promise<unknown>,
    statusOfError: (err: DomainError) => number,
  ): Promise<Outcome> {
    const now = this.#clock.now();
    const begun = await this.#store.begin(scope, key, requestHash, now, now + IDEMPOTENCY_TTL_MS);
    if (begun.state === 'replay')
      return { statusCode: begun.statusCode, body: begun.response, replayed: true };
    if (begun.state === 'mismatch') {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used with a different request',
      );
    }
    if (begun.state === 'in_progress') {
      throw new DomainError(
        'IDEMPOTENCY_IN_PROGRESS',
        'A request with this Idempotency-Key is still running',
        {
          retryAfterSeconds: 1,
        },
      );
    }
    let body: unknown;
    try {
      body = await work();
    } catch (err) {
      const status = err instanceof DomainError ? statusOfError(err) : 500;
      if (err instanceof DomainError && status < 500) {
        const stored = {
          error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
        };
        await this.#store.complete(scope, key, status, stored);
      } else {
        await this.#store.abandon(scope, key).catch(() => {});
      }
      throw err;
    }
    await this.#store.complete(scope, key, 200, body);
    return { statusCode: 200, body, replayed: false };
  }
}
