import type { PressureMonitor } from './pressure-monitor.ts';

/** A dependency that /health/ready reports on. */
export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
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
