import type { Clock } from './clock.ts';
import { rateStepOf, type WindowOutlook } from './eta.ts';
import type { AdmissionControl, ControlValues, ControlWrite } from './queue-store.ts';
import type { Occupancy } from './waiting-room.ts';

/** How the booking path (the routes admitted users call) is doing, judged by time. */
export interface BookingHealth {
  /** Responses seen; latency and error verdicts wait for enough of them. */
  samples: number;
  /** p95 latency, undefined without samples. */
  p95Ms: number | undefined;
  /** Share of 5xx answers (503 included), 0..1. */
  errorRate: number;
  /** Checkouts of a database connection seen, and the p95 of how long they waited. */
  poolWaits: number;
  poolWaitP95Ms: number | undefined;
  /** Event-loop delay samples seen, and the highest but one: the time every request waits before it is read. */
  loopSamples?: number;
  eventLoopDelayMs?: number | undefined;
}

/** The waiting room provides this: how full it is, and the window and rate every process shares. */
export interface AdmissionTarget {
  occupancy(): Occupancy;
  readControl(): Promise<AdmissionControl | undefined>;
  writeControl(version: number, next: ControlValues): Promise<ControlWrite>;
}

export interface AdmissionSettings {
  /** Off: nothing changes; admission keeps the configured cap and rate. */
  adaptive: boolean;
  minPerSecond: number;
  maxPerSecond: number;
  /** The configured pace: the starting rate, and the least a quiet backend admits at. */
  basePerSecond: number;
  /** The configured cap (TR_MAX_ACTIVE): the window's upper bound. */
  maxWindow: number;
  targetP95Ms: number;
  targetPoolWaitMs: number;
  /** Event-loop delay above which the process is the bottleneck (0: not judged). */
  targetEventLoopDelayMs?: number;
  /** Above this share of 5xx/503 the path is unhealthy. */
  maxErrorRate: number;
  /** Fewer responses (or checkouts) than this since the last change say nothing about latency. */
  minSamples?: number;
  intervalMs?: number;
  /** Seconds of admissions at the configured pace the window starts with (START_WINDOW_SECONDS). */
  startWindowSeconds?: number;
}

export type AdmissionSignal = 'p95' | 'errors' | 'pool' | 'loop' | 'healthy' | 'quiet' | 'clamp' | 'start';
export type AdmissionKnob = 'window' | 'rate';

export interface AdmissionChange {
  at: number;
  knob: AdmissionKnob;
  from: number;
  to: number;
  signal: AdmissionSignal;
  /** e.g. 'window: pool wait p95 80ms > target 25ms: 2000 -> 1400 (1998 active)'. */
  reason: string;
}

export interface AdaptiveAdmissionDeps {
  target: AdmissionTarget;
  /** Health of the booking path since `sinceMs` (the last change), so each verdict sees only the current setting. */
  health: (sinceMs: number) => BookingHealth;
  clock: Clock;
  settings: AdmissionSettings;
  onChange?: (change: AdmissionChange) => void;
}

/** A cut leaves this share of the users actually active: their load is what was too much. */
const WINDOW_CUT = 0.7;
/** Each healthy step while the window is the limit adds this share of it (at least 1 % of the cap, 10 users). */
const WINDOW_GROWTH = 0.1;
const MIN_WINDOW_STEP = 10;
const MIN_WINDOW_STEP_SHARE = 0.025;
/** A cut needs this many troubled intervals in a row: one slow interval on a shared machine is noise. */
const CONFIRM_INTERVALS = 2;
/** The window never shrinks below this share of the cap, so a bad spell slows the line but never stops it. */
const MIN_WINDOW_SHARE = 0.02;
/** The window is the limit when this share of it is taken and people wait. */
const WINDOW_FULL = 0.9;
const RATE_CUT = 0.5;
/** Each healthy step adds this share of the highest rate. */
const RATE_GROWTH = 0.05;
/**
 * Below the rate a cut came down from, each healthy step wins back this share of what is missing (at least the
 * step above): a cut after a short spell (one process starved of CPU for two intervals) then defers a few
 * seconds of admissions, not the twenty seconds of a linear climb, and the ETAs told before it stay close.
 */
const RATE_RECOVERY = 0.5;
/** Two cuts from windows within this factor of each other mark the backend's limit (see outlook). */
const SAME_LIMIT = 1.25;
/** Before anything is measured the window holds this many seconds of admissions at the configured pace. */
const START_WINDOW_SECONDS = 10;

const round = (n: number): number => Math.round(n * 100) / 100;
const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, n));

/**
 * Governs the active-user window (how many users are admitted at once) and the admission rate (how fast the
 * window fills). Admitted users stay for minutes, so their number is the load; the rate alone cannot protect
 * the backend. Why AIMD: the signals are noisy (a shared machine, a mix of cheap reads and payments), and
 * AIMD needs no model of the backend, only "too slow or not"; it converges, and its sawtooth is bounded by one
 * cut. The increase step is 10 % of the window (at least 2.5 % of the cap) per healthy interval while the window
 * is the limit: a constant step small enough for a small deployment would take minutes to recover from a cut at
 * a large cap. Below the rate a cut came down from, the rate wins back half of what is missing each healthy
 * interval: a cut after a short spell then defers seconds of admissions, not the twenty seconds of a linear climb
 * (seen in an on-sale: one process starved of CPU for two intervals halved the rate, and the ETAs told before the
 * cut came out 15 % short). The cut is to 70 % of the users actually active, not of the window, so a window that
 * was never filled is cut to where the load really was, and a second cut before anyone left changes nothing. A cut needs
 * two troubled intervals in a row (4 s): one slow interval on a shared machine is noise. Steps are
 * compare-and-set in the store: at most one increase and one cut per interval across every process. A quiet
 * backend (too few booking requests to judge) admits at least at the configured pace: with nobody booking yet,
 * there is nothing to protect.
 */
export class AdaptiveAdmission {
  #deps: AdaptiveAdmissionDeps;
  #settings: Required<AdmissionSettings>;
  #minWindow: number;
  /** The configured lowest rate; a slower pace (setPace) lowers the floor to itself. */
  #floorPerSecond: number;
  #minWindowStep: number;
  #troubled = 0;
  /** The shared control at this process's last read, and the cut time it carried: a later cut was from there. */
  #seen: { window: number; rate: number; cutAt: number } | undefined;
  /** The rate the last cut (by any process) came down from, until the rate is back there. */
  #rateBeforeCut: number | undefined;
  /** The windows the last two cuts (by any process) came down from: where the backend complained. */
  #cutsFrom: number[] = [];
  #lastChangeAt: number;
  #last?: AdmissionChange;
  #timer?: NodeJS.Timeout;
  #stepping = false;

  constructor(deps: AdaptiveAdmissionDeps) {
    const s = deps.settings;
    if (!(s.minPerSecond > 0) || s.maxPerSecond < s.minPerSecond)
      throw new RangeError(
        `admission rate bounds must satisfy 0 < min <= max, got ${s.minPerSecond}..${s.maxPerSecond}`,
      );
    if (!(s.maxWindow >= 1))
      throw new RangeError(`the active-user cap must be at least 1, got ${s.maxWindow}`);
    this.#deps = deps;
    this.#settings = {
      minSamples: 20,
      intervalMs: 2000,
      targetEventLoopDelayMs: 0,
      startWindowSeconds: START_WINDOW_SECONDS,
      ...s,
    };
    this.#floorPerSecond = s.minPerSecond;
    this.#minWindow = Math.max(1, Math.ceil(s.maxWindow * MIN_WINDOW_SHARE));
    this.#minWindowStep = Math.max(MIN_WINDOW_STEP, Math.round(s.maxWindow * MIN_WINDOW_STEP_SHARE));
    this.#lastChangeAt = deps.clock.now();
  }

  /** The window's bounds from now on (an operator's minWindow/maxWindow); the next step clamps to them. */
  setWindowBounds(minWindow: number, maxWindow: number): void {
    if (!(minWindow >= 1 && maxWindow >= minWindow))
      throw new RangeError(`window bounds must satisfy 1 <= min <= max, got ${minWindow}..${maxWindow}`);
    this.#minWindow = minWindow;
    this.#settings.maxWindow = maxWindow;
  }

  /**
   * A sale's pace from now on (an operator's admitPerSecond): the most it admits a second and the quiet floor;
   * adaptive admission only slows it. The next step clamps a stored rate to it.
   */
  setPace(perSecond: number): void {
    if (!(perSecond > 0)) throw new RangeError(`the pace must be positive, got ${perSecond}`);
    const s = this.#settings;
    s.maxPerSecond = perSecond;
    s.basePerSecond = perSecond;
    s.minPerSecond = Math.min(this.#floorPerSecond, perSecond);
  }

  /** Keeps the window a cut came down from, with the one before it. */
  #recordCut(window: number): void {
    this.#cutsFrom = [...this.#cutsFrom.slice(-1), window];
  }

  get adaptive(): boolean {
    return this.#settings.adaptive;
  }

  lastChange(): AdmissionChange | undefined {
    return this.#last;
  }

  /**
   * How the window and rate will move while the booking path stays healthy, for the ETA: each interval the window
   * grows by WINDOW_GROWTH (at least the minimum step) and the rate by RATE_GROWTH of its ceiling, or by
   * RATE_RECOVERY of what it lacks of the rate the last cut came down from, if that is more. The window
   * grows to the cap, unless the last two cuts came down from about the same window: the backend's limit, where
   * AIMD saws between the cut and that window, so the line drains at the sawtooth's middle. One cut is not such a
   * limit: a sale's opening often has one on a cold pool, and the window then grows well past it.
   */
  outlook(): WindowOutlook | undefined {
    const s = this.#settings;
    if (!s.adaptive) return undefined;
    const [earlier, last] = this.#cutsFrom;
    const same =
      last !== undefined &&
      earlier !== undefined &&
      Math.max(last, earlier) <= Math.min(last, earlier) * SAME_LIMIT;
    const limit = same ? last : undefined;
    const ceiling = limit === undefined ? s.maxWindow : Math.round((limit * (1 + WINDOW_CUT)) / 2);
    const rateRecovery = this.#rateRecovery();
    return {
      intervalMs: s.intervalMs,
      windowGrowth: WINDOW_GROWTH,
      minWindowStep: this.#minWindowStep,
      windowCeiling: clamp(ceiling, this.#minWindow, s.maxWindow),
      fullShare: WINDOW_FULL,
      rateStep: s.maxPerSecond * RATE_GROWTH,
      maxRate: s.maxPerSecond,
      ...(rateRecovery && { rateRecovery }),
    };
  }

  /** One control step; the timer calls it, tests call it with a manual clock. Returns the changes applied. */
  async step(): Promise<AdmissionChange[]> {
    if (!this.#settings.adaptive) return [];
    const s = this.#settings;
    const now = this.#deps.clock.now();
    const stored = await this.#deps.target.readControl();
    if (!stored) {
      const window = clamp(s.basePerSecond * s.startWindowSeconds, this.#minWindow, s.maxWindow);
      const rate = clamp(s.basePerSecond, s.minPerSecond, s.maxPerSecond);
      return this.#write(0, { window: 0, rate: 0 }, { window, rate, cut: false }, 'start', {
        window: 'no shared window yet',
        rate: 'no shared rate yet',
      });
    }
    if (this.#seen && stored.cutAt > this.#seen.cutAt) {
      if (stored.window < this.#seen.window) this.#recordCut(this.#seen.window);
      if (stored.rate < this.#seen.rate) this.#rateBeforeCut = this.#seen.rate;
    }
    this.#seen = { window: stored.window, rate: stored.rate, cutAt: stored.cutAt };
    if (this.#rateBeforeCut !== undefined && stored.rate >= this.#rateBeforeCut)
      this.#rateBeforeCut = undefined;
    const window = clamp(stored.window, this.#minWindow, s.maxWindow);
    const rate = clamp(stored.rate, s.minPerSecond, s.maxPerSecond);
    if (window !== stored.window || rate !== stored.rate)
      return this.#write(stored.version, stored, { window, rate, cut: false }, 'clamp', {
        window: `outside ${this.#minWindow}..${s.maxWindow}`,
        rate: `outside ${s.minPerSecond}..${s.maxPerSecond}/s`,
      });

    const o = this.#deps.target.occupancy();
    // A halted line (paused, before its opening or its draw) admits nobody: the process's load then comes from
    // elsewhere (fans joining), and cutting a line that does not move would only slow its opening.
    if (o.window <= 0) {
      this.#troubled = 0;
      return [];
    }
    // Each verdict sees its own interval only, so two troubled intervals are two separate observations.
    const h = this.#deps.health(Math.max(this.#lastChangeAt, stored.changedAt, now - s.intervalMs));
    const trouble = this.#trouble(h);
    this.#troubled = trouble ? this.#troubled + 1 : 0;
    if (trouble) {
      // Unconfirmed trouble holds everything: no cut yet, and no growth either.
      if (this.#troubled < CONFIRM_INTERVALS || now - stored.cutAt < s.intervalMs) return [];
      // Nobody of this line is active: the trouble is of other lines' making, and cutting this one to its floor
      // would only slow it once its users come.
      if (o.active === 0) return [];
      this.#troubled = 0;
      const cutWindow = Math.max(this.#minWindow, Math.min(window, Math.floor(o.active * WINDOW_CUT)));
      // The rate is cut only when it was what filled the line: once the window is full, the window alone holds
      // the load, and halving the pace of a line that admits nobody until users leave would only make its
      // refills (and the ETAs told meanwhile) slower than the backend needs.
      const windowFull = o.active >= window * WINDOW_FULL;
      const cutRate = windowFull ? rate : Math.max(s.minPerSecond, round(rate * RATE_CUT));
      return this.#write(
        stored.version,
        stored,
        { window: cutWindow, rate: cutRate, cut: true },
        trouble.signal,
        {
          window: `${trouble.why}, ${o.active} active`,
          rate: trouble.why,
        },
      );
    }
    if (now - stored.changedAt < s.intervalMs) return [];
    const quiet = h.samples < s.minSamples;
    // Grow only a window that holds the load at its own size: above it, the last cut has not taken effect yet.
    const limited = o.waiting > 0 && o.active >= window * WINDOW_FULL && o.active <= window;
    const grownWindow = limited
      ? Math.min(s.maxWindow, window + Math.max(this.#minWindowStep, Math.round(window * WINDOW_GROWTH)))
      : window;
    let grownRate = rate;
    if (quiet) grownRate = Math.max(rate, clamp(s.basePerSecond, s.minPerSecond, s.maxPerSecond));
    else if (o.waiting > 0) grownRate = Math.min(s.maxPerSecond, round(rate + this.#rateStep(rate)));
    const why = quiet
      ? `quiet (${h.samples} booking responses)`
      : `healthy (p95 ${Math.round(h.p95Ms ?? 0)}ms, pool wait p95 ${Math.round(h.poolWaitP95Ms ?? 0)}ms)`;
    return this.#write(
      stored.version,
      stored,
      { window: grownWindow, rate: grownRate, cut: false },
      quiet ? 'quiet' : 'healthy',
      { window: `${why}, ${o.active} active, ${o.waiting} waiting`, rate: why },
    );
  }

  /** The climb back to the rate the last cut came down from, while there is one. */
  #rateRecovery(): WindowOutlook['rateRecovery'] {
    const to = this.#rateBeforeCut;
    return to === undefined ? undefined : { to, share: RATE_RECOVERY };
  }

  /** What a healthy step adds to the rate: the linear step, or more while a cut's rate is being won back. */
  #rateStep(rate: number): number {
    return rateStepOf(
      { rateStep: this.#settings.maxPerSecond * RATE_GROWTH, rateRecovery: this.#rateRecovery() },
      rate,
    );
  }

  start(): void {
    if (this.#timer || !this.#settings.adaptive) return;
    this.#timer = setInterval(() => {
      if (this.#stepping) return;
      this.#stepping = true;
      this.step()
        .catch(() => {})
        .finally(() => {
          this.#stepping = false;
        });
    }, this.#settings.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The first target the booking path misses, judged by time (latency, pool wait) and by errors. */
  #trouble(h: BookingHealth): { signal: AdmissionSignal; why: string } | undefined {
    const s = this.#settings;
    if (h.samples >= s.minSamples && h.errorRate > s.maxErrorRate)
      return {
        signal: 'errors',
        why: `5xx ${(h.errorRate * 100).toFixed(1)}% > ${(s.maxErrorRate * 100).toFixed(1)}%`,
      };
    if (h.poolWaits >= s.minSamples && h.poolWaitP95Ms !== undefined && h.poolWaitP95Ms > s.targetPoolWaitMs)
      return {
        signal: 'pool',
        why: `pool wait p95 ${Math.round(h.poolWaitP95Ms)}ms > target ${s.targetPoolWaitMs}ms`,
      };
    if (
      s.targetEventLoopDelayMs > 0 &&
      (h.loopSamples ?? 0) >= 2 &&
      h.eventLoopDelayMs !== undefined &&
      h.eventLoopDelayMs > s.targetEventLoopDelayMs
    )
      return {
        signal: 'loop',
        why: `event-loop delay ${Math.round(h.eventLoopDelayMs)}ms > target ${s.targetEventLoopDelayMs}ms`,
      };
    if (h.samples >= s.minSamples && h.p95Ms !== undefined && h.p95Ms > s.targetP95Ms)
      return { signal: 'p95', why: `p95 ${Math.round(h.p95Ms)}ms > target ${s.targetP95Ms}ms` };
    return undefined;
  }

  async #write(
    version: number,
    from: { window: number; rate: number },
    next: ControlValues,
    signal: AdmissionSignal,
    why: Record<AdmissionKnob, string>,
  ): Promise<AdmissionChange[]> {
    if (next.window === from.window && next.rate === from.rate) return [];
    const written = await this.#deps.target.writeControl(version, next);
    // Another process stepped first; its decision stands and this one is dropped.
    if (!written.applied) return [];
    if (next.cut && next.window < from.window) this.#recordCut(from.window);
    if (next.cut && next.rate < from.rate) this.#rateBeforeCut = from.rate;
    this.#seen = { window: written.control.window, rate: written.control.rate, cutAt: written.control.cutAt };
    const at = this.#deps.clock.now();
    this.#lastChangeAt = at;
    const changes: AdmissionChange[] = [];
    for (const knob of ['window', 'rate'] as const) {
      if (next[knob] === from[knob]) continue;
      const unit = knob === 'rate' ? '/s' : '';
      const was = signal === 'start' ? 'none' : `${from[knob]}${unit}`;
      const change: AdmissionChange = {
        at,
        knob,
        from: from[knob],
        to: next[knob],
        signal,
        reason: `${knob}: ${why[knob]}: ${was} -> ${next[knob]}${unit}`,
      };
      changes.push(change);
      this.#last = change;
      this.#deps.onChange?.(change);
    }
    return changes;
  }
}

export interface LatencySignals {
  samples: number;
  p95Ms: number | undefined;
  errorRate: number;
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
 * Per-second slots of recent timings: the HTTP layer feeds one the responses of the routes it classes as
 * booking, the pool timer feeds another the connection checkouts; the controller reads both.
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
  signals(sinceMs = 0): LatencySignals {
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
