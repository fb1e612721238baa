// MariaDB's holds of free seats without an idempotency key, written many to a call while the database is
// busy (procedure hold_free_seats, migration 0015). A hold that finds fewer than BUSY calls of holds in
// flight goes at once, alone, by the procedure of one hold: an idle database adds no wait to it. The holds
// that arrive while BUSY calls run wait for the first of them to end, and then go together: MariaDB spends
// most of a hold's CPU on the statements of its procedure, one set per call however many holds it carries.
// Fewer than MIN_BATCH holds go one by one: the batch's statements cost more than one hold's.
// A batch that fails with an error from the server has rolled back whole (the procedure's handler), so its
// holds go again one by one and each gets its own answer. A lost connection is not retried: its COMMIT may
// have landed; every hold of the batch gets that error, as a single call's would.
import type { Database } from './database.ts';

interface BatchedHold<T, R> {
  values: T;
  resolve(answer: R): void;
  reject(err: unknown): void;
}

export interface HoldSender<T, R> {
  /** One hold by the procedure of one hold. */
  one(values: T): Promise<R>;
  /** Many holds in one call: an answer for each, in their order. */
  many(values: readonly T[]): Promise<R[]>;
}

/** Calls of holds in flight before arriving holds wait to go together. */
export const BUSY = 4;
/** Fewer waiting holds than this go one by one. */
export const MIN_BATCH = 3;
/** At most this many holds in one call. */
export const MAX_BATCH = 64;

const serverError = (err: unknown) => typeof (err as { errno?: unknown }).errno === 'number';

export class HoldBatches<T, R> {
  readonly #send: HoldSender<T, R>;
  readonly #busy: number;
  #waiting: BatchedHold<T, R>[] = [];
  #inFlight = 0;
  #scheduled = false;
  /** Holds sent in batches and batches sent, for the bench and tests. */
  readonly sent = { batches: 0, batched: 0, alone: 0 };

  constructor(send: HoldSender<T, R>, busy = BUSY) {
    this.#send = send;
    this.#busy = busy;
  }

  hold(values: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ values, resolve, reject });
      // Holds arriving in the same turn of the event loop are taken together.
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#dispatch();
        });
      }
    });
  }

  #dispatch(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#busy) {
      if (this.#waiting.length < MIN_BATCH) {
        this.#alone(this.#waiting.shift() as BatchedHold<T, R>);
        continue;
      }
      const batch = this.#waiting.splice(0, MAX_BATCH);
      this.#inFlight++;
      this.#batch(batch).finally(() => this.#ended());
    }
  }

  #ended(): void {
    this.#inFlight--;
    this.#dispatch();
  }

  #alone(h: BatchedHold<T, R>): void {
    this.#inFlight++;
    this.sent.alone++;
    this.#send
      .one(h.values)
      .then(h.resolve, h.reject)
      .finally(() => this.#ended());
  }

  async #batch(batch: BatchedHold<T, R>[]): Promise<void> {
    let answers: R[];
    try {
      answers = await this.#send.many(batch.map((h) => h.values));
    } catch (err) {
      if (!serverError(err)) {
        for (const h of batch) h.reject(err);
        return;
      }
      await Promise.all(batch.map((h) => this.#send.one(h.values).then(h.resolve, h.reject)));
      return;
    }
    this.sent.batches++;
    this.sent.batched += batch.length;
    batch.forEach((h, i) => {
      h.resolve(answers[i]);
    });
  }
}

const perDatabase = new WeakMap<Database, unknown>();

/** The one HoldBatches of a database (its pool), made on first use. */
export function holdBatchesOf<T, R>(database: Database, send: () => HoldSender<T, R>): HoldBatches<T, R> {
  let batches = perDatabase.get(database) as HoldBatches<T, R> | undefined;
  if (!batches) {
    batches = new HoldBatches(send());
    perDatabase.set(database, batches);
  }
  return batches;
}

/** What a database's HoldBatches has sent so far (none before its first hold without a key, or elsewhere than MariaDB). */
export function holdBatchStats(database: Database): HoldBatches<unknown, unknown>['sent'] | undefined {
  return (perDatabase.get(database) as HoldBatches<unknown, unknown> | undefined)?.sent;
}
