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
  /**
   * False while the key is still to be claimed by the work's own statement (`KeyAnswer.newKey`): a work that
   * cannot make that statement throws `claimKeyFirst()` before writing anything.
   */
  keyClaimed(): boolean;
}

/** What a store writes to complete a claim along with the work (as IdempotencyTx.completeIdempotencyKey). */
export interface KeyAnswer {
  claim: IdempotencyClaim;
  outcome: IdempotentOutcome;
  /**
   * Set when the key is not stored yet. The store claims it in the work's own round trip, as `begin` would
   * (pending, claimed at `claim.claimedAt`), and keeps that claim even when the work is refused, so the refusal
   * can be stored under it; when the key is stored already it writes nothing at all and says so.
   */
  newKey?: NewKey;
  written(): void;
  /** The store claimed `newKey`, whatever became of the work. */
  claimed(): void;
}

/** The rest of a key's row, for a store that claims it along with the work. */
export interface NewKey {
  requestHash: string;
  callerDigest: string | null;
  expiresAt: number;
}

/**
 * Thrown by a work run with `claimInWork` that cannot claim its key in its own statement, or found the key
 * stored already, having written nothing: the service claims the key as usual and runs the work again.
 */
export class ClaimKeyFirst extends Error {
  constructor() {
    super('the idempotency key is to be claimed before the work');
  }
}
export const claimKeyFirst = () => new ClaimKeyFirst();

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

export interface RunOptions {
  /**
   * The work claims the key in its own round trip instead of a round trip of its own before it (a hold:
   * Seal.answer with `newKey`); when it cannot, the key is claimed first and the work runs again.
   */
  claimInWork?: boolean;
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
  async run<T>(
    request: IdempotentRequest,
    work: (seal: Seal<T>) => Promise<T>,
    opts: RunOptions = {},
  ): Promise<IdempotentResult> {
    if (opts.claimInWork) {
      const done = await this.#runClaimingInWork(request, work);
      if (done) return done;
    }
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
    const sealing = this.#sealing<T>(begun.claim, undefined);
    return this.#finish(begun.claim, sealing, work);
  }

  /**
   * The work claims the key in its own round trip (KeyAnswer.newKey). Undefined when it could not, or found
   * the key stored, having written nothing; also when it was refused before claiming, so the refusal is
   * stored under a claim on the second run like any other.
   */
  async #runClaimingInWork<T>(
    request: IdempotentRequest,
    work: (seal: Seal<T>) => Promise<T>,
  ): Promise<IdempotentResult | undefined> {
    const now = this.#clock.now();
    const claim: IdempotencyClaim = { scope: request.scope, key: request.key, claimedAt: now };
    const newKey: NewKey = {
      requestHash: request.requestHash,
      callerDigest: request.callerDigest ?? null,
      expiresAt: now + IDEMPOTENCY_TTL_MS,
    };
    const sealing = this.#sealing<T>(claim, newKey);
    try {
      return await this.#finish(claim, sealing, work);
    } catch (err) {
      if (sealing.claimed()) throw err;
      if (err instanceof ClaimKeyFirst || isRefusal(err)) return undefined;
      throw err;
    }
  }

  /** The seal given to the work, and what became of the claim; with `newKey`, the claim is the work's to make. */
  #sealing<T>(claim: IdempotencyClaim, newKey: NewKey | undefined) {
    let claimed = newKey === undefined;
    let sealed = false;
    const seal: Seal<T> = Object.assign(
      async (tx: IdempotencyTx, value: T) => {
        if (!claimed) throw claimKeyFirst();
        // Refusing rolls the work back: the key went to a newer request.
        if (!(await tx.completeIdempotencyKey(claim, { ok: true, value }))) throw inProgress();
        sealed = true;
      },
      {
        answer: (value: T): KeyAnswer => ({
          claim,
          outcome: { ok: true, value },
          ...(!claimed && newKey && { newKey }),
          written: () => {
            claimed = sealed = true;
          },
          claimed: () => {
            claimed = true;
          },
        }),
        keyClaimed: () => claimed,
      },
    );
    return { seal, claimed: () => claimed, sealed: () => sealed };
  }

  async #finish<T>(
    claim: IdempotencyClaim,
    sealing: { seal: Seal<T>; claimed: () => boolean; sealed: () => boolean },
    work: (seal: Seal<T>) => Promise<T>,
  ): Promise<IdempotentResult> {
    let value: T;
    try {
      value = await work(sealing.seal);
    } catch (err) {
      if (!sealing.claimed()) {
        // The store answered without claiming the key, unless a failure hid a commit: free any claim made then.
        if (!(err instanceof ClaimKeyFirst || isRefusal(err)))
          await this.#store.abandon(claim).catch(() => {});
        throw err;
      }
      if (isRefusal(err)) {
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
    if (!sealing.claimed()) throw new Error('a work run with claimInWork returned without claiming its key');
    if (!sealing.sealed()) await this.#store.complete(claim, outcome);
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

/** A business refusal, stored under the key; anything else frees the key for another try. */
const isRefusal = (err: unknown): err is DomainError => err instanceof DomainError && !isTransient(err.code);

/** The key is held by a request still running, or went to a newer one while this one worked. */
export const inProgress = () =>
  new DomainError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running', {
    retryAfterSeconds: 1,
  });
