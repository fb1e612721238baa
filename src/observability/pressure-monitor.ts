import type { AcquireClass } from '../db/acquire-queue.ts';
import { criticalHeapMb, defaultOverloadLimits, type OverloadLimits } from './overload-limits.ts';

/** A class of database checkouts whose waits have stood above the target for a whole interval. */
export interface StandingQueue {
  cls: AcquireClass;
  /** How long its oldest checkout has waited so far. */
  sojournMs: number;
}

export interface PressureSample {
  eventLoopDelayMs: number;
  heapUsedMb: number;
  poolStanding: StandingQueue[];
}

export type PressureLevel = 'ok' | 'shed' | 'critical';

/** The monitor's verdict as /metrics shows it. */
export interface PressureStats extends PressureSample {
  level: PressureLevel;
}

export interface PressureState extends PressureStats {
  /** Why the level is not 'ok', e.g. 'event-loop delay 340ms > 250ms'. */
  reasons: string[];
  /**
   * The level from the process alone (event loop, heap). The waiting room touches no database, so a standing
   * connection queue never sheds it: that is when users should be waiting in line instead of hammering bookings.
   */
  processLevel: PressureLevel;
}

const severity: Record<PressureLevel, number> = { ok: 0, shed: 1, critical: 2 };
const worse = (a: PressureLevel, b: PressureLevel): PressureLevel => (severity[b] > severity[a] ? b : a);

/**
 * Once the heap is over its bound, it must fall below this share of the bound before the level falls: a GC
 * that frees a megabyte at the bound is not relief, and a level that flaps sheds and admits in turns.
 */
export const HEAP_RELEASE_SHARE = 0.95;

function processLevelOf(sample: PressureSample, limits: OverloadLimits, heapWasOver: boolean) {
  const heapBound = heapWasOver ? limits.maxHeapMb * HEAP_RELEASE_SHARE : limits.maxHeapMb;
  const checks: Array<[name: string, value: number, bound: number, critical: number, unit: string]> = [
    [
      'event-loop delay',
      sample.eventLoopDelayMs,
      limits.maxEventLoopDelayMs,
      limits.maxEventLoopDelayMs * limits.waitingRoomFactor,
      'ms',
    ],
    ['heap used', sample.heapUsedMb, heapBound, criticalHeapMb(limits), 'MB'],
  ];
  let level: PressureLevel = 'ok';
  const reasons: string[] = [];
  for (const [name, value, bound, critical, unit] of checks) {
    if (!(bound > 0) || value <= bound) continue;
    reasons.push(`${name} ${Math.round(value)}${unit} > ${Math.round(bound)}${unit}`);
    level = worse(level, value > critical ? 'critical' : 'shed');
  }
  return { level, reasons, heapOver: heapBound > 0 && sample.heapUsedMb > heapBound };
}

const poolReasons = (sample: PressureSample, limits: OverloadLimits): string[] =>
  sample.poolStanding.map(
    ({ cls, sojournMs }) =>
      `${cls} waits for a connection above ${limits.poolTargetMs}ms for ${limits.poolIntervalMs}ms (oldest ${Math.round(sojournMs)}ms)`,
  );

export interface PressureMonitorOptions {
  sample: () => PressureSample;
  limits?: Partial<OverloadLimits>;
  intervalMs?: number;
  /** Told when the level changes, for a log line. */
  onLevelChange?: (state: PressureState, previous: PressureLevel) => void;
  /**
   * Samples in a row the process bounds must be exceeded before the process level rises (it falls at once):
   * like the connection queue's interval, one stalled sample (a GC pause, one burst's parsing) is good
   * queueing, not overload.
   */
  confirmSamples?: number;
}

/** Keeps the last verdict, so the per-request check reads a field and does no sampling itself. */
export class PressureMonitor {
  readonly limits: OverloadLimits;
  #sample: () => PressureSample;
  #intervalMs: number;
  #onLevelChange?: PressureMonitorOptions['onLevelChange'];
  #confirmSamples: number;
  #rising = 0;
  #heapOver = false;
  #state: PressureState = {
    level: 'ok',
    processLevel: 'ok',
    reasons: [],
    eventLoopDelayMs: 0,
    heapUsedMb: 0,
    poolStanding: [],
  };
  #timer?: NodeJS.Timeout;

  constructor(opts: PressureMonitorOptions) {
    this.limits = { ...defaultOverloadLimits, ...opts.limits };
    this.#sample = opts.sample;
    this.#intervalMs = opts.intervalMs ?? 500;
    this.#onLevelChange = opts.onLevelChange;
    this.#confirmSamples = opts.confirmSamples ?? 1;
  }

  /** Takes one sample and updates the verdict; the timer calls it, tests call it directly. */
  check(): PressureState {
    const sample = this.#sample();
    const previous = this.#state;
    const measured = processLevelOf(sample, this.limits, this.#heapOver);
    this.#heapOver = measured.heapOver;
    this.#rising = severity[measured.level] > severity[previous.processLevel] ? this.#rising + 1 : 0;
    const held = this.#rising > 0 && this.#rising < this.#confirmSamples;
    const processLevel = held ? previous.processLevel : measured.level;
    const processReasons = processLevel === 'ok' ? [] : measured.reasons;
    const pool = poolReasons(sample, this.limits);
    this.#state = {
      ...sample,
      processLevel,
      level: pool.length > 0 ? worse(processLevel, 'shed') : processLevel,
      reasons: [...processReasons, ...pool],
    };
    if (this.#state.level !== previous.level) this.#onLevelChange?.(this.#state, previous.level);
    return this.#state;
  }

  state(): PressureState {
    return this.#state;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
