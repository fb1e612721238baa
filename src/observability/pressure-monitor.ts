import { defaultOverloadLimits, type OverloadLimits } from './overload-limits.ts';

export interface PressureSample {
  eventLoopDelayMs: number;
  heapUsedMb: number;
  poolWaiting: number;
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
   * The level from the process alone (event loop, heap). The waiting room touches no database, so a long
   * pool queue never sheds it: that is when users should be waiting in line instead of hammering bookings.
   */
  processLevel: PressureLevel;
}

const severity: Record<PressureLevel, number> = { ok: 0, shed: 1, critical: 2 };
const worse = (a: PressureLevel, b: PressureLevel): PressureLevel => (severity[b] > severity[a] ? b : a);

function levelOf(
  sample: PressureSample,
  limits: OverloadLimits,
): { level: PressureLevel; processLevel: PressureLevel; reasons: string[] } {
  const checks: Array<[name: string, value: number, bound: number, unit: string]> = [
    ['event-loop delay', sample.eventLoopDelayMs, limits.maxEventLoopDelayMs, 'ms'],
    ['heap used', sample.heapUsedMb, limits.maxHeapMb, 'MB'],
    ['pool waiting', sample.poolWaiting, limits.maxPoolWaiting, ''],
  ];
  let level: PressureLevel = 'ok';
  let processLevel: PressureLevel = 'ok';
  const reasons: string[] = [];
  for (const [name, value, bound, unit] of checks) {
    if (!(bound > 0) || value <= bound) continue;
    reasons.push(`${name} ${Math.round(value)}${unit} > ${bound}${unit}`);
    const here: PressureLevel = value > bound * limits.waitingRoomFactor ? 'critical' : 'shed';
    level = worse(level, here);
    if (name !== 'pool waiting') processLevel = worse(processLevel, here);
  }
  return { level, processLevel, reasons };
}

export interface PressureMonitorOptions {
  sample: () => PressureSample;
  limits?: Partial<OverloadLimits>;
  intervalMs?: number;
  /** Told when the level changes, for a log line. */
  onLevelChange?: (state: PressureState, previous: PressureLevel) => void;
}

/** Keeps the last verdict, so the per-request check reads a field and does no sampling itself. */
export class PressureMonitor {
  readonly limits: OverloadLimits;
  #sample: () => PressureSample;
  #intervalMs: number;
  #onLevelChange?: PressureMonitorOptions['onLevelChange'];
  #state: PressureState = {
    level: 'ok',
    processLevel: 'ok',
    reasons: [],
    eventLoopDelayMs: 0,
    heapUsedMb: 0,
    poolWaiting: 0,
  };
  #timer?: NodeJS.Timeout;

  constructor(opts: PressureMonitorOptions) {
    this.limits = { ...defaultOverloadLimits, ...opts.limits };
    this.#sample = opts.sample;
    this.#intervalMs = opts.intervalMs ?? 500;
    this.#onLevelChange = opts.onLevelChange;
  }

  /** Takes one sample and updates the verdict; the timer calls it, tests call it directly. */
  check(): PressureState {
    const sample = this.#sample();
    const previous = this.#state.level;
    this.#state = { ...sample, ...levelOf(sample, this.limits) };
    if (this.#state.level !== previous) this.#onLevelChange?.(this.#state, previous);
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
