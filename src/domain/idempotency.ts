import type { Clock } from './clock.ts';
import { DomainError, type ErrorCode, isTransient } from './errors.ts';

/** What one request under a key came to: its value, or the business error it was refused with. */
export type IdempotentOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

/** A key this request holds; `claimedAt` tells it from an earlier claim of the same key that was given up. */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  claimedAt: number;
}

export type IdempotencyBegin =
  | { state: 'new'; claim: IdempotencyClaim }
  | { state: 'replay'; outcome: IdempotentOutcome }
  | { state: 'mismatch' }
  | { state: 'in_progress' };

/** One request under a key, as the client sent it. */
export interface IdempotentRequest {
  /** Whose keys these are, e.g. `pay:12`: users never share keys. */
  scope: string;
  key: string;
  /** Digest of the method, route and body; the same key with another request is refused. */
  requestHash: string;
  /** Digest of the credential that sent it: only the same caller may fetch the answer before the admission gate. */
  callerDigest?: string;
}

/** The storage step that records a key's answer inside the work's own transaction. */
export interface IdempotencyTx {
  /** False when the claim is no longer this request's (it lapsed and another took the key over). */
  completeIdempotencyKey(claim: IdempotencyClaim, outcome: IdempotentOutcome): Promise<boolean>;
}

/**
 * Given to the work: it calls seal with its answer inside its transaction, so the answer commits with the
 * work or not at all, and a key can never say "still running" about work that is done.
 */
export interface Seal<T> {
  (tx: IdempotencyTx, value: T): Promise<void>;
  /**
   * The same answer for a store that writes it in the work's own statement, under the claim and only while
   * the claim is still this request's; the work calls `written` once that committed.
   */
  answer(value: T): KeyAnswer;
}

/** What a store writes to complete a claim along with the work (as IdempotencyTx.completeIdempotencyKey). */
export interface KeyAnswer {
  claim: IdempotencyClaim;
  outcome: IdempotentOutcome;
  written(): void;
}

/** Storage for idempotency keys; implemented in src/db/idempotency-repository.ts. */
export interface IdempotencyStore {
  /**
   * Claims the key for this request, or says what is already stored under it. A claim older than
   * `staleBefore` never completed (its answer would have committed with its work) and is taken over.
   */
  begin(
    request: IdempotentRequest,
    now: number,
    expiresAt: number,
    staleBefore: number,
  ): Promise<IdempotencyBegin>;
  /** Stores an answer outside any transaction: a refusal, or work that wrote nothing. */
  complete(claim: IdempotencyClaim, outcome: IdempotentOutcome): Promise<boolean>;
  /** Frees a claim whose work did not commit. */
  abandon(claim: IdempotencyClaim): Promise<void>;
  /** The finished answer to this very request from this very caller, if one is stored and live. */
  findAnswer(request: Required<IdempotentRequest>, now: number): Promise<IdempotentOutcome | undefined>;
  /** Deletes expired keys in bounded batches; resolves to how many went. */
  purgeExpired(now: number): Promise<number>;
}

export interface IdempotentResult {
  outcome: IdempotentOutcome;
  /** True when the outcome is the stored one of an earlier request. */
  replayed: boolean;
}

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** Far beyond any request's timeout: a claim this old belongs to a request that died before committing. */
export const IDEMPOTENCY_CLAIM_LEASE_MS = 5 * 60 * 1000;

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

  /**
   * Runs the work once per key. The work should pass `seal` to its transaction; work that does not is
   * sealed after it returns. A fresh business error is stored, then thrown as it is; a replayed one comes
   * back as an outcome.
   */
  async run<T>(request: IdempotentRequest, work: (seal: Seal<T>) => Promise<T>): Promise<IdempotentResult> {
    const now = this.#clock.now();
    const begun = await this.#store.begin(
      request,
      now,
      now + IDEMPOTENCY_TTL_MS,
      now - IDEMPOTENCY_CLAIM_LEASE_MS,
    );
    if (begun.state === 'replay') return { outcome: begun.outcome, replayed: true };
    if (begun.state === 'mismatch')
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used with a different request',
      );
    if (begun.state === 'in_progress') throw inProgress();
    const { claim } = begun;
    let sealed = false;
    const seal: Seal<T> = Object.assign(
      async (tx: IdempotencyTx, value: T) => {
        // Refusing rolls the work back: the key went to a newer request.
        if (!(await tx.completeIdempotencyKey(claim, { ok: true, value }))) throw inProgress();
        sealed = true;
      },
      {
        answer: (value: T): KeyAnswer => ({
          claim,
          outcome: { ok: true, value },
          written: () => {
            sealed = true;
          },
        }),
      },
    );
    let value: T;
    try {
      value = await work(seal);
    } catch (err) {
      if (err instanceof DomainError && !isTransient(err.code)) {
        const { code, message, details } = err;
        await this.#store.complete(claim, {
          ok: false,
          error: details ? { code, message, details } : { code, message },
        });
      } else {
        // Only a claim still pending goes: if the work did commit, its sealed answer stays.
        await this.#store.abandon(claim).catch(() => {});
      }
      throw err;
    }
    const outcome: IdempotentOutcome = { ok: true, value };
    if (!sealed) await this.#store.complete(claim, outcome);
    return { outcome, replayed: false };
  }

  /** The stored answer to this request from this caller, without doing anything; for retries past the gate. */
  storedAnswer(request: IdempotentRequest): Promise<IdempotentOutcome | undefined> {
    const { callerDigest } = request;
    if (callerDigest === undefined) return Promise.resolve(undefined);
    return this.#store.findAnswer({ ...request, callerDigest }, this.#clock.now());
  }

  /** Forgets keys older than 24 h; the housekeeping timer calls it. */
  purgeExpired(): Promise<number> {
    return this.#store.purgeExpired(this.#clock.now());
  }
}

/** The key is held by a request still running, or went to a newer one while this one worked. */
export const inProgress = () =>
  new DomainError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running', {
    retryAfterSeconds: 1,
  });
