import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import {
  backlog,
  claimRelayLease,
  fetchPending,
  markPublished,
  type PendingOutboxRow,
  releaseRelayLease,
} from '../db/outbox-relay-repository.ts';
import type { Clock } from '../domain/clock.ts';
import { type EventLog, type EventPublisher, silentLog } from './bus.ts';

export interface OutboxRelayOptions {
  database: Database;
  publisher: EventPublisher;
  clock: Clock;
  /** Most events read and published per round. */
  batchSize?: number;
  /** Pause between rounds when the outbox is drained. */
  intervalMs?: number;
  /** Ceiling of the exponential pause after failed rounds. */
  maxBackoffMs?: number;
  /**
   * How long the publishing lease lasts; renewed while publishing, so one publish must end within half of
   * it (the NATS publisher gives up after 2 s). A relay that dies holds the outbox up this long at most.
   */
  leaseMs?: number;
  /**
   * Pause of a relay that found the lease held by another (a standby): it neither polls nor answers nudges for
   * this long. Default: a tenth of the lease, at most 5 s. A stopped holder's work is taken up within it.
   */
  standbyMs?: number;
  logger?: EventLog;
}

export interface OutboxRelayStats {
  /** Events this relay published and marked since it was created. */
  published: number;
  /** Rounds that stopped on a publish or database error. */
  failures: number;
  /** Unpublished events in the outbox (written by any process). */
  backlog: number;
  /** Age of the oldest unpublished event; 0 when none is pending. */
  lagMs: number;
  oldestCreatedAt: number | null;
}

interface BatchOutcome {
  /** Seqs published and marked, in order. */
  sent: number[];
  failed: boolean;
}

interface RoundOutcome {
  published: number;
  failed: boolean;
  /** Another relay holds the lease. */
  standby?: boolean;
}

/**
 * Publishes outbox rows strictly in seq order and marks them only after the bus acknowledged them.
 * The first failure ends the round, so a later event never overtakes an earlier one; the rest wait
 * for the next round, after an exponential backoff. Delivery is at least once. Of several processes,
 * only the holder of a lease in the database publishes; no transaction stays open while the bus is slow.
 */
export class OutboxRelay {
  readonly #database: Database;
  readonly #publisher: EventPublisher;
  readonly #clock: Clock;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #maxBackoffMs: number;
  readonly #log: EventLog;
  readonly #leaseMs: number;
  readonly #standbyMs: number;
  /** Until when this relay stands by (another holds the lease); nudges do not wake it before. */
  #standbyUntil = 0;
  readonly #holder = randomUUID();
  /** When this relay's lease lapses; 0 when it holds none. */
  #leaseUntil = 0;
  #published = 0;
  #failures = 0;
  #failuresInRow = 0;
  #running = false;
  /** A nudge arrived while a round was in flight: run the next one at once. */
  #nudged = false;
  #timer: NodeJS.Timeout | undefined;
  /** Rounds run one after another, whether from the loop or from runOnce. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(opts: OutboxRelayOptions) {
    this.#database = opts.database;
    this.#publisher = opts.publisher;
    this.#clock = opts.clock;
    this.#batchSize = opts.batchSize ?? 100;
    this.#intervalMs = opts.intervalMs ?? 250;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.#log = opts.logger ?? silentLog;
    this.#leaseMs = opts.leaseMs ?? 30_000;
    this.#standbyMs = opts.standbyMs ?? Math.min(5000, this.#leaseMs / 10);
  }

  /** Runs the relay in the background until stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops the loop, waits for the round in flight to finish and hands the lease back. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain;
    if (this.#leaseUntil > 0) {
      this.#leaseUntil = 0;
      await releaseRelayLease(this.#database.db, this.#holder).catch(() => {});
    }
  }

  /** Another relay held the lease at this one's last round, and it waits before asking again. */
  get standingBy(): boolean {
    return this.#clock.now() < this.#standbyUntil;
  }

  /** Asks a running relay for a round now instead of after the idle pause (e.g. after a commit). */
  nudge(): void {
    // While backing off from failures the pause stands: a nudge must not hammer a bus that is down. A standby's
    // own commits would otherwise read the pending events, every one, only to find the lease taken.
    if (!this.#running || this.#failuresInRow > 0 || this.#clock.now() < this.#standbyUntil) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#schedule(0);
    } else {
      this.#nudged = true;
    }
  }

  /** One round; resolves to how many events were published. Publish failures are counted, not thrown. */
  async runOnce(): Promise<number> {
    return (await this.#round()).published;
  }

  async stats(): Promise<OutboxRelayStats> {
    const b = await backlog(this.#database.db);
    return {
      published: this.#published,
      failures: this.#failures,
      backlog: b.count,
      lagMs: b.oldestCreatedAt === null ? 0 : Math.max(0, this.#clock.now() - b.oldestCreatedAt),
      oldestCreatedAt: b.oldestCreatedAt,
    };
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    this.#nudged = false;
    let delay = this.#intervalMs;
    try {
      const outcome = await this.#round();
      if (outcome.failed) delay = this.#backoffMs();
      else if (outcome.standby) {
        delay = this.#standbyMs;
        this.#standbyUntil = this.#clock.now() + delay;
      } else if (outcome.published === this.#batchSize || this.#nudged) delay = 0;
    } catch (err) {
      this.#failures++;
      this.#failuresInRow++;
      delay = this.#backoffMs();
      this.#log.warn(
        { err, retryInMs: Math.round(delay), failuresInRow: this.#failuresInRow },
        'outbox relay: database error; retrying',
      );
    }
    if (this.#running && !this.#timer) this.#schedule(delay);
  }

  #backoffMs(): number {
    const exp = this.#intervalMs * 2 ** Math.min(this.#failuresInRow, 16);
    // Jitter keeps relays of several processes from retrying in step.
    return Math.min(this.#maxBackoffMs, exp) * (0.8 + Math.random() * 0.4);
  }

  #round(): Promise<RoundOutcome> {
    const run = this.#chain.then(() => this.#publishBatch());
    this.#chain = run.catch(() => {});
    return run;
  }

  async #publishBatch(): Promise<RoundOutcome> {
    const { db } = this.#database;
    let rows = await fetchPending(db, this.#batchSize);
    if (rows.length === 0) return { published: 0, failed: false };
    const heldBefore = this.#leaseUntil > this.#clock.now();
    // Another process's relay is publishing; it hands over when it stops or its lease lapses.
    if (!(await this.#renewLease())) return { published: 0, failed: false, standby: true };
    // A newly won lease: the previous holder may have published some of these meanwhile.
    if (!heldBefore) rows = await fetchPending(db, this.#batchSize);
    const outcome = await this.#publishRows(rows);
    this.#published += outcome.sent.length;
    if (!outcome.failed && this.#failuresInRow > 0) {
      this.#log.info({ failuresInRow: this.#failuresInRow }, 'outbox relay: publishing again');
      this.#failuresInRow = 0;
    }
    return { published: outcome.sent.length, failed: outcome.failed };
  }

  async #renewLease(): Promise<boolean> {
    const now = this.#clock.now();
    const until = now + this.#leaseMs;
    const granted = await claimRelayLease(this.#database.db, this.#holder, now, until);
    this.#leaseUntil = granted ? until : 0;
    return granted;
  }

  /** Publishes rows in order until the first failure or a lost lease, marks what went out, and returns those seqs. */
  async #publishRows(rows: PendingOutboxRow[]): Promise<BatchOutcome> {
    const sent: number[] = [];
    let failed = false;
    for (const row of rows) {
      // Renewed while half of it is left, so a publish in flight never outlives the lease.
      if (this.#leaseUntil - this.#clock.now() < this.#leaseMs / 2 && !(await this.#renewLease())) break;
      try {
        await this.#publisher.publish({
          eventId: row.eventId,
          aggregateId: row.aggregateId,
          type: row.type,
          payload: JSON.parse(row.payload) as Record<string, unknown>,
          createdAt: row.createdAt,
        });
      } catch (err) {
        failed = true;
        this.#failures++;
        this.#failuresInRow++;
        this.#log.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            seq: row.seq,
            eventId: row.eventId,
            type: row.type,
            lagMs: Math.max(0, this.#clock.now() - row.createdAt),
            failuresInRow: this.#failuresInRow,
          },
          'outbox relay: publish failed; events stay in the outbox and are retried',
        );
        break;
      }
      sent.push(row.seq);
    }
    await markPublished(this.#database.db, sent, this.#clock.now());
    return { sent, failed };
  }
}
