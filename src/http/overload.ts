import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PoolStats } from '../db/database.ts';
import type { Metrics, PressureStats } from '../observability/metrics.ts';
import type { DependencyCheck } from '../services.ts';
import { errorBody } from './errors.ts';
import type { RoutePlugin } from './plugin.ts';

export { busyIfPoolTimeout, isPoolTimeout } from '../observability/pool.ts';

export interface PressureSample {
  eventLoopDelayMs: number;
  heapUsedMb: number;
  poolWaiting: number;
}

/** A bound of 0 is switched off. */
export interface OverloadLimits {
  maxEventLoopDelayMs: number;
  maxHeapMb: number;
  maxPoolWaiting: number;
  /** The waiting-room routes shed only beyond the bounds times this factor. */
  waitingRoomFactor: number;
}

export type PressureLevel = PressureStats['level'];

export interface PressureState extends PressureStats {
  /** Why the level is not 'ok', e.g. 'event-loop delay 340ms > 250ms'. */
  reasons: string[];
  /**
   * The level from the process alone (event loop, heap). The waiting room touches no database, so a long
   * pool queue never sheds it: that is when users should be waiting in line instead of hammering bookings.
   */
  processLevel: PressureLevel;
}

export const defaultOverloadLimits: OverloadLimits = {
  maxEventLoopDelayMs: 250,
  maxHeapMb: 0,
  maxPoolWaiting: 100,
  waitingRoomFactor: 2,
};

/** 90% of V8's heap limit: a bound for when none is configured. */
export const autoHeapLimitMb = (): number =>
  Math.floor((getHeapStatistics().heap_size_limit / 2 ** 20) * 0.9);

/** Limits from the configuration: a heap bound of 0 means 90% of V8's heap limit. */
export function overloadLimits(overload: {
  maxEventLoopDelayMs: number;
  maxHeapMb: number;
  maxPoolWaiting: number;
}): OverloadLimits {
  return {
    ...defaultOverloadLimits,
    ...overload,
    maxHeapMb: overload.maxHeapMb > 0 ? overload.maxHeapMb : autoHeapLimitMb(),
  };
}

/** Samples the process the real way: event-loop delay histogram, V8 heap, the pool's queue. */
export function processSampler(poolStats?: () => PoolStats): { sample(): PressureSample; stop(): void } {
  const resolutionMs = 10;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  return {
    sample() {
      // The histogram counts the timer's own resolution; under-pressure subtracts it the same way.
      const eventLoopDelayMs = Number.isNaN(delay.mean) ? 0 : Math.max(0, delay.mean / 1e6 - resolutionMs);
      delay.reset();
      return {
        eventLoopDelayMs,
        heapUsedMb: getHeapStatistics().used_heap_size / 2 ** 20,
        poolWaiting: poolStats?.().waiting ?? 0,
      };
    },
    stop: () => delay.disable(),
  };
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

/** Which routes may be turned away at which level. */
export type ShedClass = 'never' | 'last' | 'normal';

const WAITING_ROOM_ROUTES = new Set(['/api/users/:userId/token']);

export function shedClassOf(routeUrl: string | undefined): ShedClass {
  if (routeUrl === undefined) return 'normal';
  if (routeUrl === '/metrics' || routeUrl.startsWith('/health/')) return 'never';
  if (WAITING_ROOM_ROUTES.has(routeUrl)) return 'last';
  return 'normal';
}

export interface OverloadGuardOptions {
  monitor: PressureMonitor;
  metrics?: Metrics;
  retryAfterSeconds?: number;
}

/**
 * Answers 503 OVERLOADED with Retry-After at once while the monitor reports pressure, instead of
 * letting requests queue. Registered app-wide (not encapsulated), before the routes it guards.
 */
export function overloadGuard(opts: OverloadGuardOptions): RoutePlugin {
  const retryAfter = String(opts.retryAfterSeconds ?? 1);
  const plugin: RoutePlugin = async (app) => {
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const { level, processLevel } = opts.monitor.state();
      if (level === 'ok') return;
      const shedClass = shedClassOf(request.routeOptions.url);
      if (shedClass === 'never' || (shedClass === 'last' && processLevel !== 'critical')) return;
      opts.metrics?.shed(level);
      return reply
        .status(503)
        .header('retry-after', retryAfter)
        .send(errorBody('OVERLOADED', 'Server overloaded, retry shortly'));
    });
  };
  return skipOverride(plugin, 'ticketrush-overload-guard');
}

/**
 * A readiness check that fails while the process itself is critically loaded (so a balancer can look
 * elsewhere); a long pool queue does not count, every process shares the same database.
 */
export function pressureReadiness(monitor: PressureMonitor): DependencyCheck {
  return {
    name: 'pressure',
    check: async () => {
      const { processLevel, reasons } = monitor.state();
      if (processLevel === 'critical') throw new Error(`overloaded: ${reasons.join(', ')}`);
    },
  };
}

/** What fastify-plugin does: the plugin's hooks apply to the whole app, not only its own context. */
export function skipOverride<T extends object>(plugin: T, name: string): T {
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: name });
  return plugin;
}
