// Writes that one call can carry many of, batched while the database is busy: holds without an idempotency key
// (MariaDB's procedure of migration 0015, PostgreSQL's statement in booking-writes.ts) and MariaDB's payments
// without one (migration 0016). A database spends most of such a write's CPU on the statements of its call, one
// set per call however many writes it carries.
// A write that finds fewer than BUSY calls of its kind in flight goes at once, alone, by the call of one write,
// unless a call of its kind ended in this turn of the event loop: the writers it answered often write again at
// once, and the writes of that turn go together at its end. Writes that arrive while BUSY calls run wait for the
// first of them to end, and then go together. Fewer than MIN_BATCH waiting writes go one by one: a batch's
// statements cost more than one write's. (Taking every turn's writes together at its end batched about as much
// in the bench, but made every write that found a call in flight wait a turn of a busy event loop.)
// Writes with the same `distinct` key (a payment's user) never share a call: the later ones wait for the next.
// A batch that fails with an error from the server has rolled back whole (a procedure's handler, PostgreSQL's
// implicit transaction), so its writes go again one by one and each gets its own answer. A lost connection is
// not retried: its COMMIT may have landed; every write of the batch gets that error, as a single call's would.
import type { Database } from './database.ts';

interface Waiting<T, R> {
  values: T;
  resolve(answer: R): void;
  reject(err: unknown): void;
}

export interface BatchSender<T, R> {
  /** One write by the procedure of one write. */
  one(values: T): Promise<R>;
  /** Many writes in one call: an answer for each, in their order, or undefined for one to send again alone. */
  many(values: readonly T[]): Promise<(R | undefined)[]>;
  /** Writes with equal keys go in different calls. */
  distinct?(values: T): unknown;
}

/** Calls of one kind in flight before arriving writes wait to go together. */
export const BUSY = 4;
/** Fewer waiting writes than this go one by one. */
export const MIN_BATCH = 3;
/** At most this many writes in one call. */
export const MAX_BATCH = 64;

/**
 * An error the database server answered with, which rolled the call back: mysql2's carry the server's SQLSTATE,
 * pg's a severity. A socket's error (a negative errno, no SQLSTATE) is not one.
 */
const serverError = (err: unknown) => {
  const e = err as { sqlState?: unknown; severity?: unknown };
  return typeof e.sqlState === 'string' || typeof e.severity === 'string';
};

export class BatchedCalls<T, R> {
  readonly #send: BatchSender<T, R>;
  readonly #busy: number;
  #waiting: Waiting<T, R>[] = [];
  #inFlight = 0;
  /** A call ended in this turn: writes arriving in it wait for its end, and go together. */
  #collecting = false;
  /**
   * Batches sent, writes sent in them, writes sent alone, and writes of batches sent again alone (a batch the
   * server refused, or a write the batch did not answer), for the benches and tests.
   */
  readonly sent = { batches: 0, batched: 0, alone: 0, again: 0 };

  /** Writes waiting for a call. */
  get waiting(): number {
    return this.#waiting.length;
  }

  constructor(send: BatchSender<T, R>, busy = BUSY) {
    this.#send = send;
    this.#busy = busy;
  }

  call(values: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ values, resolve, reject });
      if (!this.#collecting) this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#busy) {
      const batch = this.#take();
      if (batch.length < MIN_BATCH) {
        for (const w of batch) this.#alone(w);
        continue;
      }
      this.#inFlight++;
      void this.#batch(batch);
    }
  }

  /** The longest batch from the front of the line, at most one write per distinct key; the rest keep their places. */
  #take(): Waiting<T, R>[] {
    const { distinct } = this.#send;
    if (!distinct) return this.#waiting.splice(0, MAX_BATCH);
    const keys = new Set<unknown>();
    const batch: Waiting<T, R>[] = [];
    const left: Waiting<T, R>[] = [];
    for (const w of this.#waiting) {
      const key = distinct(w.values);
      if (batch.length < MAX_BATCH && !keys.has(key)) {
        keys.add(key);
        batch.push(w);
      } else left.push(w);
    }
    this.#waiting = left;
    return batch;
  }

  #ended(): void {
    this.#inFlight--;
    if (this.#collecting) return;
    // The writers answered by this call often write again at once: they go together at the turn's end.
    this.#collecting = true;
    setImmediate(() => {
      this.#collecting = false;
      this.#dispatch();
    });
  }

  #alone(w: Waiting<T, R>, counted = true): void {
    this.#inFlight++;
    if (counted) this.sent.alone++;
    // The call is over before its writer hears, so what the writer sends next finds it ended.
    this.#send.one(w.values).then(
      (answer) => {
        this.#ended();
        w.resolve(answer);
      },
      (err) => {
        this.#ended();
        w.reject(err);
      },
    );
  }

  async #batch(batch: Waiting<T, R>[]): Promise<void> {
    let answers: (R | undefined)[];
    try {
      answers = await this.#send.many(batch.map((w) => w.values));
    } catch (err) {
      if (!serverError(err)) {
        this.#ended();
        for (const w of batch) w.reject(err);
        return;
      }
      answers = [];
    }
    if (answers.length) {
      this.sent.batches++;
      this.sent.batched += batch.length;
    }
    const again = batch.filter((_, i) => answers[i] === undefined);
    this.sent.again += again.length;
    this.#ended();
    batch.forEach((w, i) => {
      const answer = answers[i];
      if (answer !== undefined) w.resolve(answer);
    });
    // Each goes again in a call of its own, already past the line.
    for (const w of again) this.#alone(w, false);
  }
}

const perDatabase = new WeakMap<Database, Map<string, unknown>>();

/** The BatchedCalls of one kind of write on a database (its pool), made on first use. */
export function batchedCallsOf<T, R>(
  database: Database,
  kind: string,
  send: () => BatchSender<T, R>,
): BatchedCalls<T, R> {
  let kinds = perDatabase.get(database);
  if (!kinds) {
    kinds = new Map<string, unknown>();
    perDatabase.set(database, kinds);
  }
  let calls = kinds.get(kind) as BatchedCalls<T, R> | undefined;
  if (!calls) {
    calls = new BatchedCalls(send());
    kinds.set(kind, calls);
  }
  return calls;
}

/** What a database's BatchedCalls of one kind has sent so far, and how many writes wait (none before its first write). */
export function batchStats(
  database: Database,
  kind: string,
): (BatchedCalls<unknown, unknown>['sent'] & { waiting: number }) | undefined {
  const calls = perDatabase.get(database)?.get(kind) as BatchedCalls<unknown, unknown> | undefined;
  return calls && { ...calls.sent, waiting: calls.waiting };
}
