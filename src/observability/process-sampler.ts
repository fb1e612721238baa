import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { PoolStats } from '../db/database.ts';
import type { PressureSample } from './pressure-monitor.ts';

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
