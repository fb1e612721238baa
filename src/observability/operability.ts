import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { retryStats } from '../db/transaction.ts';
import {
  AdaptiveAdmission,
  type AdmissionTarget,
  type BookingHealth,
  ResponseWindow,
} from '../domain/admission-controller.ts';
import type { Clock } from '../domain/clock.ts';
import type { WindowOutlook } from '../domain/eta.ts';
import type { QueueCounts } from '../domain/queue-store.ts';
import type { Logger } from '../logger.ts';
import { createMetrics, type Metrics, type OutboxStats } from './metrics.ts';
import { overloadLimits } from './overload-limits.ts';
import { PressureMonitor } from './pressure-monitor.ts';
import { processSampler } from './process-sampler.ts';

export interface OperabilityDeps {
  config: Config;
  clock: Clock;
  database: Database;
  /** The waiting room: its counts feed the queue gauges, its window and rate are what adaptive admission drives. */
  waitingRoom: AdmissionTarget & {
    counts(): Promise<QueueCounts>;
    getAdmitRate(): number;
    getWindow(): number;
    governBySharedControl(): void;
  };
  outbox?: () => OutboxStats | Promise<OutboxStats>;
  /** The session length a sale's ETAs assume until it has measured its own. */
  etaPriorSessionMs?: () => number | undefined;
  /** One line per admission-rate change and per overload level change. */
  log?: Pick<Logger, 'info' | 'warn'>;
  /** The registry to fill; a fresh one when absent. */
  metrics?: Metrics;
}

/** Seconds of a sale's pace its window starts with (the default sale keeps the controller's ten). */
const SALE_START_WINDOW_SECONDS = 2;

/** A room adaptive admission can govern: its window and rate then come from the shared control it steps. */
export type GovernedRoom = AdmissionTarget & {
  governBySharedControl(outlook?: () => WindowOutlook | undefined): void;
};

/** The plain objects the HTTP layer builds its overload guard and metrics hooks from. */
export interface Operability {
  metrics: Metrics;
  monitor: PressureMonitor;
  window: ResponseWindow;
  admission: AdaptiveAdmission;
  /**
   * Adaptive admission for another sale's room, judged by the same health as the default sale (one process, one
   * booking path); undefined when adaptive admission is off. Started here; the caller stops it with the room.
   */
  governSale(
    room: GovernedRoom,
    pace: { admitPerSecond: number; maxWindow: number; saleId: number },
  ): AdaptiveAdmission | undefined;
  /** Time one request waited for a pooled database connection: a metric and a controller signal. */
  poolWait(seconds: number, cls?: string): void;
  start(): void;
  stop(): void;
}

/** Builds the metrics sources, the pressure monitor and adaptive admission from the configuration. */
export function createOperability(deps: OperabilityDeps): Operability {
  const { config, clock, database, waitingRoom, log } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const sampler = processSampler(() => database.acquireQueue.stats());
  // Event-loop delay samples also tell adaptive admission when the process itself is the bottleneck.
  const loopDelays = new ResponseWindow({ clock });
  const monitor = new PressureMonitor({
    sample: () => {
      const sample = sampler.sample();
      loopDelays.record(200, sample.eventLoopDelayMs);
      return sample;
    },
    limits: overloadLimits(config.overload),
    confirmSamples: 2,
    onLevelChange: (state, previous) =>
      log?.warn(
        { level: state.level, previous, reasons: state.reasons },
        `overload: ${previous} -> ${state.level}`,
      ),
  });
  const window = new ResponseWindow({ clock });
  const poolWaits = new ResponseWindow({ clock });
  const health = (since: number): BookingHealth => {
    const waits = poolWaits.signals(since);
    const loop = loopDelays.signals(since);
    return {
      ...window.signals(since),
      poolWaits: waits.samples,
      poolWaitP95Ms: waits.p95Ms,
      loopSamples: loop.samples,
      eventLoopDelayMs: loop.p95Ms,
    };
  };
  const admissionOf = (
    target: GovernedRoom,
    pace: { admitPerSecond: number; maxWindow: number; saleId?: number },
  ): AdaptiveAdmission => {
    const controller: AdaptiveAdmission = new AdaptiveAdmission({
      target,
      clock,
      settings: {
        adaptive: config.admission.adaptive,
        minPerSecond: config.admission.minPerSecond,
        maxPerSecond: config.admission.maxPerSecond,
        basePerSecond: pace.admitPerSecond,
        maxWindow: pace.maxWindow,
        targetP95Ms: config.admission.targetP95Ms,
        targetPoolWaitMs: config.admission.targetPoolWaitMs,
        // Half the overload guard's bound: the window is cut before the guard would turn requests away.
        targetEventLoopDelayMs: config.overload.maxEventLoopDelayMs / 2,
        maxErrorRate: config.admission.maxErrorPercent / 100,
        // A sale opens on a crowd that has waited for it: its window starts small (a slow start) and grows while
        // the booking path stays healthy, rather than admitting ten seconds' worth before the first verdict.
        ...(pace.saleId !== undefined && { startWindowSeconds: SALE_START_WINDOW_SECONDS }),
      },
      health,
      onChange: (change) => {
        metrics.admitRateChanged(change);
        log?.info(
          { knob: change.knob, from: change.from, to: change.to, signal: change.signal, saleId: pace.saleId },
          `admission ${change.reason}`,
        );
      },
    });
    if (config.admission.adaptive) target.governBySharedControl(() => controller.outlook());
    return controller;
  };
  const admission = admissionOf(waitingRoom, {
    admitPerSecond: config.queueSettings.admitPerSecond,
    maxWindow: config.queueSettings.maxActive,
  });
  metrics.observe({
    pool: () => database.poolStats(),
    acquireQueue: () => database.acquireQueue.stats(),
    pressure: () => monitor.state(),
    queue: () => waitingRoom.counts(),
    admitRate: () => waitingRoom.getAdmitRate(),
    admitWindow: () => waitingRoom.getWindow(),
    transactionRetries: () => retryStats,
    ...(deps.outbox && { outbox: deps.outbox }),
    ...(deps.etaPriorSessionMs && { etaPriorSessionMs: deps.etaPriorSessionMs }),
  });
  return {
    metrics,
    monitor,
    window,
    admission,
    governSale(room, pace) {
      if (!config.admission.adaptive) return undefined;
      const governor = admissionOf(room, pace);
      // The default sale's rate ranges over the configured bounds; another sale's never exceeds its own pace.
      governor.setPace(pace.admitPerSecond);
      governor.start();
      // The first step now: the sale's slow-start window is in the store before its first admission.
      governor.step().catch(() => {});
      return governor;
    },
    poolWait(seconds, cls) {
      metrics.poolWait(seconds, cls);
      // While the pool is still opening connections, a checkout's wait is connection set-up, not contention.
      if (database.poolStats().size >= config.dbPool.max) poolWaits.record(200, seconds * 1000);
    },
    start() {
      monitor.start();
      admission.start();
    },
    stop() {
      monitor.stop();
      admission.stop();
      sampler.stop();
    },
  };
}
