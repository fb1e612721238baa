import type { Clock } from './clock.ts';

/** How the booking path (the routes admitted users call) is doing. */
export interface BookingHealth {
  /** Responses seen; decisions wait for enough of them. */
  samples: number;
  /** p95 latency, undefined without samples. */
  p95Ms: number | undefined;
  /** Share of 5xx answers (503 included), 0..1. */
  errorRate: number;
  /** Requests waiting for a database connection. */
  poolWaiting: number;
}

/** The waiting room provides this. */
export interface AdmitRateTarget {
  getAdmitRate(): number;
  setAdmitRate(perSecond: number): void;
}

export interface AdmissionSettings {
  /** Off: the rate stays what it was set to. */
  adaptive: boolean;
  minPerSecond: number;
  maxPerSecond: number;
  targetP95Ms: number;
  /** Above this share of 5xx/503 the path is unhealthy. */
  maxErrorRate: number;
  /** Above this many requests waiting for a connection the path is unhealthy. */
  maxPoolWaiting: number;
  /** Added per healthy step; defaults to 5% of max. */
  increasePerStep?: number;
  /** Multiplied per unhealthy step. */
  decreaseFactor?: number;
  /** Fewer responses than this since the last change: hold, unless the pool queue says otherwise. */
  minSamples?: number;
  intervalMs?: number;
}

export type RateSignal = 'p95' | 'errors' | 'pool' | 'healthy' | 'clamp';

export interface RateChange {
  at: number;
  from: number;
  to: number;
  signal: RateSignal;
  /** e.g. 'p95 820ms > target 500ms: 200 -> 100/s'. */
  reason: string;
}

export interface AdaptiveAdmissionDeps {
  target: AdmitRateTarget;
  /** Health of the booking path since `sinceMs` (the last change), so each verdict sees only the current rate. */
  health: (sinceMs: number) => BookingHealth;
  clock: Clock;
  settings: AdmissionSettings;
  onChange?: (change: RateChange) => void;
}

const round = (n: number): number => Math.round(n * 100) / 100;

/**
 * AIMD on the admission rate: add a step while the booking path is healthy, multiply down when
 * its p95, error share or pool queue say it is not, always within [min, max].
 */
export class AdaptiveAdmission {
  #deps: AdaptiveAdmissionDeps;
  #settings: Required<AdmissionSettings>;
  #lastChangeAt: number;
  #last?: RateChange;
  #timer?: NodeJS.Timeout;

  constructor(deps: AdaptiveAdmissionDeps) {
    const s = deps.settings;
    if (!(s.minPerSecond > 0) || s.maxPerSecond < s.minPerSecond)
      throw new RangeError(
        `admission rate bounds must satisfy 0 < min <= max, got ${s.minPerSecond}..${s.maxPerSecond}`,
      );
    this.#deps = deps;
    this.#settings = {
      increasePerStep: Math.max(1, s.maxPerSecond * 0.05),
      decreaseFactor: 0.5,
      minSamples: 20,
      intervalMs: 2000,
      ...s,
    };
    this.#lastChangeAt = deps.clock.now();
  }

  get adaptive(): boolean {
    return this.#settings.adaptive;
  }

  lastChange(): RateChange | undefined {
    return this.#last;
  }

  /** One control step; the timer calls it, tests call it with a manual clock. */
  step(): RateChange | undefined {
    if (!this.#settings.adaptive) return undefined;
    const s = this.#settings;
    const from = this.#deps.target.getAdmitRate();
    const clamped = Math.min(s.maxPerSecond, Math.max(s.minPerSecond, from));
    if (clamped !== from)
      return this.#apply(from, clamped, 'clamp', `outside ${s.minPerSecond}..${s.maxPerSecond}/s`);

    const h = this.#deps.health(this.#lastChangeAt);
    const down = (signal: RateSignal, why: string) => {
      const to = Math.max(s.minPerSecond, round(from * s.decreaseFactor));
      return to === from ? undefined : this.#apply(from, to, signal, why);
    };
    if (h.poolWaiting > s.maxPoolWaiting)
      return down('pool', `pool waiting ${h.poolWaiting} > ${s.maxPoolWaiting}`);
    if (h.samples < s.minSamples) return undefined;
    if (h.errorRate > s.maxErrorRate)
      return down('errors', `5xx ${(h.errorRate * 100).toFixed(1)}% > ${(s.maxErrorRate * 100).toFixed(1)}%`);
    if (h.p95Ms !== undefined && h.p95Ms > s.targetP95Ms)
      return down('p95', `p95 ${Math.round(h.p95Ms)}ms > target ${s.targetP95Ms}ms`);
    const to = Math.min(s.maxPerSecond, round(from + s.increasePerStep));
    if (to === from) return undefined;
    return this.#apply(from, to, 'healthy', `healthy (p95 ${Math.round(h.p95Ms ?? 0)}ms)`);
  }

  start(): void {
    if (this.#timer || !this.#settings.adaptive) return;
    this.#timer = setInterval(() => this.step(), this.#settings.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #apply(from: number, to: number, signal: RateSignal, why: string): RateChange {
    this.#deps.target.setAdmitRate(to);
    const at = this.#deps.clock.now();
    this.#lastChangeAt = at;
    this.#last = { at, from, to, signal, reason: `${why}: ${from} -> ${to}/s` };
    this.#deps.onChange?.(this.#last);
    return this.#last;
  }
}

// Latency buckets grow by 10% from 1 ms, so p95 is read to within 10% with fixed memory.
const GROWTH = 1.1;
const BUCKETS = Math.ceil(Math.log(120_000) / Math.log(GROWTH)) + 1;
const bucketOf = (ms: number): number =>
  ms <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms) / Math.log(GROWTH)));
const upperBoundOf = (bucket: number): number => GROWTH ** bucket;

interface Slot {
  second: number;
  count: number;
  errors: number;
  latency: Uint32Array;
}

export interface ResponseWindowOptions {
  clock: Clock;
  windowSeconds?: number;
}

/**
 * Per-second slots of recent booking-path responses; the HTTP layer feeds it the responses of the routes
 * it classes as booking, the controller reads it.
 */
export class ResponseWindow {
  #clock: Clock;
  #slots: Slot[];

  constructor(opts: ResponseWindowOptions) {
    this.#clock = opts.clock;
    const n = opts.windowSeconds ?? 10;
    this.#slots = Array.from({ length: n }, () => ({
      second: -1,
      count: 0,
      errors: 0,
      latency: new Uint32Array(BUCKETS),
    }));
  }

  /** One booking-path response. */
  record(status: number, durationMs: number): void {
    const second = Math.floor(this.#clock.now() / 1000);
    const slot = this.#slots[second % this.#slots.length];
    if (slot.second !== second) {
      slot.second = second;
      slot.count = 0;
      slot.errors = 0;
      slot.latency.fill(0);
    }
    slot.count++;
    if (status >= 500) slot.errors++;
    slot.latency[bucketOf(durationMs)]++;
  }

  /** p95 and error share over the window, counting only seconds from `sinceMs` on. */
  signals(sinceMs = 0): Omit<BookingHealth, 'poolWaiting'> {
    const now = Math.floor(this.#clock.now() / 1000);
    // A slot partly before `sinceMs` is left out: it mixes the old rate with the new.
    const from = Math.max(now - this.#slots.length + 1, Math.ceil(sinceMs / 1000));
    let count = 0;
    let errors = 0;
    const latency = new Uint32Array(BUCKETS);
    for (const slot of this.#slots) {
      if (slot.second < from || slot.second > now) continue;
      count += slot.count;
      errors += slot.errors;
      for (let i = 0; i < BUCKETS; i++) latency[i] += slot.latency[i];
    }
    if (count === 0) return { samples: 0, p95Ms: undefined, errorRate: 0 };
    const rank = Math.ceil(count * 0.95);
    let seen = 0;
    let p95Ms = upperBoundOf(BUCKETS - 1);
    for (let i = 0; i < BUCKETS; i++) {
      seen += latency[i];
      if (seen >= rank) {
        p95Ms = upperBoundOf(i);
        break;
      }
    }
    return { samples: count, p95Ms, errorRate: errors / count };
  }
}
