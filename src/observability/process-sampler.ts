import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { ACQUIRE_CLASSES, type AcquireQueueStats } from '../db/acquire-queue.ts';
import type { PressureSample, StandingQueue } from './pressure-monitor.ts';

/** Samples the process the real way: event-loop delay histogram, V8 heap, the connection queue's standing classes. */
export function processSampler(acquireQueue?: () => AcquireQueueStats): {
  sample(): PressureSample;
  stop(): void;
} {
  const resolutionMs = 10;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  return {
    sample() {
      // The histogram counts the timer's own resolution; under-pressure subtracts it the same way.
      const eventLoopDelayMs = Number.isNaN(delay.mean) ? 0 : Math.max(0, delay.mean / 1e6 - resolutionMs);
      delay.reset();
      const queue = acquireQueue?.();
      const poolStanding: StandingQueue[] = queue
        ? ACQUIRE_CLASSES.filter((cls) => queue.classes[cls].standing).map((cls) => ({
            cls,
            sojournMs: queue.classes[cls].sojournMs,
          }))
        : [];
      return { eventLoopDelayMs, heapUsedMb: getHeapStatistics().used_heap_size / 2 ** 20, poolStanding };
    },
    stop: () => delay.disable(),
  };
}
