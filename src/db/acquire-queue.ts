import { AsyncLocalStorage } from 'node:async_hooks';
import { POOL_ACQUIRE_TIMEOUT } from './errors.ts';

/**
 * Who waits for a database connection, most urgent first: paying for a held seat, then holding one, then
 * topping up, then reading the catalog. Work outside any request (sweeps, the outbox relay) waits as catalog.
 */
export const ACQUIRE_CLASSES = ['payment', 'hold', 'top-up', 'catalog'] as const;
export type AcquireClass = (typeof ACQUIRE_CLASSES)[number];

const UNCLASSED: AcquireClass = 'catalog';
/** Weight of the newest checkout in the mean hold time. */
const HOLD_EWMA = 0.1;

export interface AcquireQueueOptions {
  /** Connections handed out at once: the pool's size (1 for SQLite). */
  permits: number;
  /** A checkout still queued after this long fails with POOL_ACQUIRE_TIMEOUT (503 BUSY). */
  acquireTimeoutMs: number;
  /** CoDel: a class whose checkouts keep waiting longer than targetMs for a whole intervalMs has a standing queue. */
  targetMs: number;
  intervalMs: number;
  /** Told the seconds each checkout waited, timed-out ones included: the one measured pool-wait signal. */
  onWait?: (seconds: number, cls: AcquireClass) => void;
  /** Monotonic milliseconds; tests pass their own. */
  now?: () => number;
}

export interface AcquireClassStats {
  waiting: number;
  /** How long the oldest queued checkout of the class has waited so far (0 when none waits). */
  sojournMs: number;
  /** Waits above the target for a whole interval, with checkouts still queued. */
  standing: boolean;
}

export interface AcquireQueueStats {
  permits: number;
  inUse: number;
  waiting: number;
  /** Mean time a checkout keeps its connection, recent checkouts weighing most. */
  holdMs: number;
  classes: Record<AcquireClass, AcquireClassStats>;
}

interface Waiter {
  enqueuedAt: number;
  cls: AcquireClass;
  grant: (release: () => void) => void;
  timer: NodeJS.Timeout;
}

/**
 * A semaphore in front of the connection pool with one FIFO per class, served most urgent first, so a
 * payment overtakes queued catalog reads. It measures each class's sojourn time the CoDel way (Nichols and
 * Jacobson): a queue is a problem not when it is long but when its waits stay above a target for a whole
 * interval; a burst that drains within the interval is good queueing.
 */
export class AcquireQueue {
  readonly #opts: AcquireQueueOptions;
  readonly #now: () => number;
  readonly #context = new AsyncLocalStorage<AcquireClass>();
  readonly #queues: Record<AcquireClass, Waiter[]> = { payment: [], hold: [], 'top-up': [], catalog: [] };
  /** Per class, when waits above the target will have lasted an interval; 0 while the last wait was below it. */
  readonly #firstAbove: Record<AcquireClass, number> = { payment: 0, hold: 0, 'top-up': 0, catalog: 0 };
  #inUse = 0;
  #waiting = 0;
  #holdMs = 0;

  constructor(opts: AcquireQueueOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Checkouts queued now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Permits handed out now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Runs fn with every checkout it makes (across awaits) queued as `cls`. */
  runAs<T>(cls: AcquireClass, fn: () => T): T {
    return this.#context.run(cls, fn);
  }

  /** Waits for a permit; resolves to the function that gives it back. */
  acquire(): Promise<() => void> {
    const cls = this.#context.getStore() ?? UNCLASSED;
    const enqueuedAt = this.#now();
    if (this.#inUse < this.#opts.permits && this.#waiting === 0) {
      this.#observe(cls, 0, enqueuedAt);
      this.#opts.onWait?.(0, cls);
      return Promise.resolve(this.#take());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        enqueuedAt,
        cls,
        grant: resolve,
        timer: setTimeout(() => {
          const queue = this.#queues[cls];
          queue.splice(queue.indexOf(waiter), 1);
          this.#waiting--;
          this.#opts.onWait?.((this.#now() - enqueuedAt) / 1000, cls);
          reject(
            Object.assign(new Error(`no database connection within ${this.#opts.acquireTimeoutMs} ms`), {
              code: POOL_ACQUIRE_TIMEOUT,
            }),
          );
        }, this.#opts.acquireTimeoutMs),
      };
      this.#queues[cls].push(waiter);
      this.#waiting++;
    });
  }

  /**
   * How long a checkout of `cls` queued now would wait: the checkouts ahead of it (its own class and the
   * more urgent ones) drained by every permit at the mean hold time.
   */
  expectedWaitMs(cls: AcquireClass): number {
    let ahead = 0;
    for (const c of ACQUIRE_CLASSES) {
      ahead += this.#queues[c].length;
      if (c === cls) break;
    }
    const free = this.#opts.permits - this.#inUse;
    if (ahead < free) return 0;
    return ((ahead - free + 1) / this.#opts.permits) * this.#holdMs;
  }

  /** True when the class's waits have stayed above the target for a whole interval and some still wait. */
  standing(cls: AcquireClass): boolean {
    const queue = this.#queues[cls];
    if (queue.length === 0) return false;
    const now = this.#now();
    // The oldest waiter's age bounds its sojourn from below, so a class starved of every grant stands too:
    // it has been above the target since it had waited the target.
    const oldest = queue[0].enqueuedAt;
    if (now - oldest < this.#opts.targetMs) this.#firstAbove[cls] = 0;
    else {
      const standsFrom = oldest + this.#opts.targetMs + this.#opts.intervalMs;
      if (this.#firstAbove[cls] === 0 || standsFrom < this.#firstAbove[cls])
        this.#firstAbove[cls] = standsFrom;
    }
    return this.#firstAbove[cls] !== 0 && now >= this.#firstAbove[cls];
  }

  stats(): AcquireQueueStats {
    const now = this.#now();
    const classes = {} as Record<AcquireClass, AcquireClassStats>;
    for (const cls of ACQUIRE_CLASSES) {
      const queue = this.#queues[cls];
      classes[cls] = {
        waiting: queue.length,
        sojournMs: queue.length ? now - queue[0].enqueuedAt : 0,
        standing: this.standing(cls),
      };
    }
    return {
      permits: this.#opts.permits,
      inUse: this.#inUse,
      waiting: this.#waiting,
      holdMs: this.#holdMs,
      classes,
    };
  }

  #take(): () => void {
    this.#inUse++;
    const grantedAt = this.#now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = this.#now() - grantedAt;
      this.#holdMs = this.#holdMs === 0 ? held : this.#holdMs + HOLD_EWMA * (held - this.#holdMs);
      this.#inUse--;
      this.#grantNext();
    };
  }

  #grantNext(): void {
    while (this.#waiting > 0 && this.#inUse < this.#opts.permits) {
      const cls = ACQUIRE_CLASSES.find((c) => this.#queues[c].length > 0);
      if (!cls) return;
      const waiter = this.#queues[cls].shift() as Waiter;
      this.#waiting--;
      clearTimeout(waiter.timer);
      const now = this.#now();
      const sojourn = now - waiter.enqueuedAt;
      this.#observe(cls, sojourn, now);
      this.#opts.onWait?.(sojourn / 1000, cls);
      waiter.grant(this.#take());
    }
  }

  /** CoDel's rule: the clock starts at the first wait above the target and stops at the first one below. */
  #observe(cls: AcquireClass, sojournMs: number, now: number): void {
    if (sojournMs < this.#opts.targetMs) this.#firstAbove[cls] = 0;
    else if (this.#firstAbove[cls] === 0) this.#firstAbove[cls] = now + this.#opts.intervalMs;
  }
}
