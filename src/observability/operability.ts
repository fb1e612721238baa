import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { AdaptiveAdmission, type AdmitRateTarget, ResponseWindow } from '../domain/admission-controller.ts';
import type { Clock } from '../domain/clock.ts';
import { metricsPlugin } from '../http/metrics.ts';
import { overloadGuard, overloadLimits, PressureMonitor, processSampler } from '../http/overload.ts';
import type { RoutePlugin } from '../http/plugin.ts';
import { createMetrics, type Metrics, type OutboxStats, type QueueStats } from './metrics.ts';

export interface OperabilityDeps {
  config: Config;
  clock: Clock;
  database: Database;
  /** The waiting room: its counts feed the queue gauges, its rate is what adaptive admission drives. */
  waitingRoom?: AdmitRateTarget & { counts(): Promise<QueueStats> };
  outbox?: () => OutboxStats | Promise<OutboxStats>;
  /** One line per admission-rate change and per overload level change. */
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface Operability {
  metrics: Metrics;
  monitor: PressureMonitor;
  window: ResponseWindow;
  admission?: AdaptiveAdmission;
  /** Register the guard first (before any route) and the metrics plugin anywhere; both are app-wide. */
  guardPlugin: RoutePlugin;
  metricsPlugin: RoutePlugin;
  start(): void;
  stop(): void;
}

/** Builds the metrics registry, overload guard and adaptive admission from the configuration. */
export function createOperability(deps: OperabilityDeps): Operability {
  const { config, clock, database, waitingRoom, log } = deps;
  const metrics = createMetrics();
  const sampler = processSampler(() => database.poolStats());
  const monitor = new PressureMonitor({
    sample: sampler.sample,
    limits: overloadLimits(config.overload),
    onLevelChange: (state, previous) =>
      log?.warn(
        { level: state.level, previous, reasons: state.reasons },
        `overload: ${previous} -> ${state.level}`,
      ),
  });
  const window = new ResponseWindow({ clock });
  const admission = waitingRoom
    ? new AdaptiveAdmission({
        target: waitingRoom,
        clock,
        settings: {
          adaptive: config.admission.adaptive,
          minPerSecond: config.admission.minPerSecond,
          maxPerSecond: config.admission.maxPerSecond,
          targetP95Ms: config.admission.targetP95Ms,
          maxErrorRate: config.admission.maxErrorPercent / 100,
          // A connection queue as long as the pool means requests wait about one query for a connection.
          maxPoolWaiting: config.dbPool.max,
        },
        health: (since) => ({ ...window.signals(since), poolWaiting: database.poolStats().waiting }),
        onChange: (change) => {
          metrics.admitRateChanged(change);
          log?.info(
            { from: change.from, to: change.to, signal: change.signal },
            `admission rate: ${change.reason}`,
          );
        },
      })
    : undefined;
  metrics.observe({
    pool: () => database.poolStats(),
    pressure: () => monitor.state(),
    ...(waitingRoom && { queue: () => waitingRoom.counts(), admitRate: () => waitingRoom.getAdmitRate() }),
    ...(deps.outbox && { outbox: deps.outbox }),
  });
  return {
    metrics,
    monitor,
    window,
    admission,
    guardPlugin: overloadGuard({ monitor, metrics }),
    metricsPlugin: metricsPlugin({ metrics, window }),
    start() {
      monitor.start();
      admission?.start();
    },
    stop() {
      monitor.stop();
      admission?.stop();
      sampler.stop();
    },
  };
}
