import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../logger.ts';
import type { PressureMonitor } from './pressure-monitor.ts';

/** A dependency that /health/ready reports on. */
export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
}

/** One dependency in a readiness answer: its name and whether it answered, never why not. */
export interface DependencyStatus {
  name: string;
  ok: boolean;
  ms: number;
}

export interface ReadinessReport {
  ok: boolean;
  checks: DependencyStatus[];
}

export interface ReadinessProbeOptions {
  checks: readonly DependencyCheck[];
  clock: Clock;
  /** Where a failed check's detail goes (host names and driver messages stay out of the answer). */
  log: Pick<Logger, 'warn'>;
  /** How long one result answers every probe; a burst of probes costs one check. */
  maxAgeMs?: number;
  timeoutMs?: number;
}

/**
 * Checks every dependency at most once per maxAgeMs (about a second); probes meanwhile, and probes while a
 * check runs, get that same result.
 */
export class ReadinessProbe {
  readonly #opts: Required<ReadinessProbeOptions>;
  #last?: { at: number; running: boolean; report: Promise<ReadinessReport> };

  constructor(opts: ReadinessProbeOptions) {
    this.#opts = { maxAgeMs: 1000, timeoutMs: 2000, ...opts };
  }

  report(): Promise<ReadinessReport> {
    const now = this.#opts.clock.now();
    const last = this.#last;
    if (last && (last.running || now - last.at < this.#opts.maxAgeMs)) return last.report;
    const run = { at: now, running: true, report: this.#checkAll() };
    run.report.finally(() => {
      run.running = false;
      run.at = this.#opts.clock.now();
    });
    this.#last = run;
    return run.report;
  }

  async #checkAll(): Promise<ReadinessReport> {
    const checks = await Promise.all(this.#opts.checks.map((dep) => this.#checkOne(dep)));
    return { ok: checks.every((c) => c.ok), checks };
  }

  async #checkOne(dep: DependencyCheck): Promise<DependencyStatus> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
      await withTimeout(dep.check(), this.#opts.timeoutMs);
      return { name: dep.name, ok: true, ms: ms() };
    } catch (err) {
      this.#opts.log.warn({ dependency: dep.name, err }, `readiness: ${dep.name} is not ready`);
      return { name: dep.name, ok: false, ms: ms() };
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
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
