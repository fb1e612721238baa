import { encodeHistogram, type Histogram, newHistogram } from './histogram.ts';
import { emptyOutcomes, type Outcome, type OutcomeCounts } from './outcomes.ts';

/** The funnel of a seed flow, counted once per flow at each stage it reached. */
export interface Funnel {
  started: number;
  issued: number;
  admitted: number;
  held: number;
  paid: number;
  completed: number;
  /** Open model only: flows not started because the VU cap was reached. */
  dropped: number;
  /** Flows cut short by the end of the run or a loop bound. */
  aborted: number;
}

export function emptyFunnel(): Funnel {
  return { started: 0, issued: 0, admitted: 0, held: 0, paid: 0, completed: 0, dropped: 0, aborted: 0 };
}

interface RouteStats {
  histogram: Histogram;
  outcomes: OutcomeCounts;
  business: Record<string, number>;
  failures: number;
  failureKinds: Record<string, number>;
}

/** One second's numbers while they accumulate (in a worker, or merged across workers). */
export interface SecondStats {
  histogram: Histogram;
  requests: number;
  failures: number;
  business: number;
  flowsCompleted: number;
  vus: number;
}

/** What a worker sends for one finished second of the run. */
export interface SecondSnapshot {
  second: number;
  requests: number;
  failures: number;
  business: number;
  flowsCompleted: number;
  vus: number;
  histogram: string;
}

export interface RouteSnapshot {
  route: string;
  histogram: string;
  outcomes: OutcomeCounts;
  business: Record<string, number>;
  failures: number;
  /** Failures by what ended them: status and error code ('503 OVERLOADED'), 'timeout', 'conn ECONNRESET'. */
  failureKinds: Record<string, number>;
}

export interface RecorderSnapshot {
  routes: RouteSnapshot[];
  admission: string;
  funnel: Funnel;
}

/** Per-worker metrics: one HDR histogram per route and per second, merged exactly by the runner. */
export class Recorder {
  readonly funnel = emptyFunnel();
  readonly admission = newHistogram();
  private readonly routes = new Map<string, RouteStats>();
  private readonly seconds = new Map<number, SecondStats>();
  private readonly startedAt: number;
  /** Current VU count, sampled into each second. */
  vus = 0;
  /** Requests recorded so far. */
  requests = 0;

  constructor(startedAtEpochMs: number) {
    this.startedAt = startedAtEpochMs;
  }

  private secondAt(epochMs: number): SecondStats {
    const index = Math.max(0, Math.floor((epochMs - this.startedAt) / 1000));
    let stats = this.seconds.get(index);
    if (!stats) {
      stats = { histogram: newHistogram(), requests: 0, failures: 0, business: 0, flowsCompleted: 0, vus: 0 };
      this.seconds.set(index, stats);
    }
    if (this.vus > stats.vus) stats.vus = this.vus;
    return stats;
  }

  private route(route: string): RouteStats {
    let stats = this.routes.get(route);
    if (!stats) {
      stats = {
        histogram: newHistogram(),
        outcomes: emptyOutcomes(),
        business: {},
        failures: 0,
        failureKinds: {},
      };
      this.routes.set(route, stats);
    }
    return stats;
  }

  /**
   * One request: latency from its intended start, its outcome, and a business code when it was one; a failure
   * (neither 2xx nor business) is counted under `failureKind` ('503 OVERLOADED', 'timeout').
   */
  request(
    route: string,
    latencyMs: number,
    outcome: Outcome,
    businessCode: string | undefined,
    endEpochMs: number,
    failureKind?: string,
  ) {
    const micros = Math.max(1, Math.round(latencyMs * 1000));
    this.requests++;
    const stats = this.route(route);
    stats.histogram.recordValue(micros);
    stats.outcomes[outcome]++;
    const second = this.secondAt(endEpochMs);
    second.histogram.recordValue(micros);
    second.requests++;
    if (businessCode !== undefined) {
      stats.business[businessCode] = (stats.business[businessCode] ?? 0) + 1;
      second.business++;
    } else if (outcome !== 's2xx') {
      stats.failures++;
      const kind = failureKind ?? outcome;
      stats.failureKinds[kind] = (stats.failureKinds[kind] ?? 0) + 1;
      second.failures++;
    }
  }

  admitted(waitMs: number) {
    this.funnel.admitted++;
    this.admission.recordValue(Math.max(1, Math.round(waitMs * 1000)));
  }

  flowCompleted(endEpochMs: number) {
    this.funnel.completed++;
    this.secondAt(endEpochMs).flowsCompleted++;
  }

  /** Marks the VU level of the current second even when no request finished in it. */
  sampleVus(epochMs: number) {
    this.secondAt(epochMs);
  }

  /** Removes and returns the seconds before `epochMs` (those that can no longer change). */
  drainSeconds(beforeEpochMs: number): SecondSnapshot[] {
    const limit = Math.floor((beforeEpochMs - this.startedAt) / 1000);
    const out: SecondSnapshot[] = [];
    for (const [second, stats] of this.seconds) {
      if (second >= limit) continue;
      out.push({
        second,
        requests: stats.requests,
        failures: stats.failures,
        business: stats.business,
        flowsCompleted: stats.flowsCompleted,
        vus: stats.vus,
        histogram: stats.histogram.totalCount ? encodeHistogram(stats.histogram) : '',
      });
      stats.histogram.destroy();
      this.seconds.delete(second);
    }
    return out.sort((a, b) => a.second - b.second);
  }

  snapshot(): RecorderSnapshot {
    return {
      routes: [...this.routes].map(([route, s]) => ({
        route,
        histogram: encodeHistogram(s.histogram),
        outcomes: { ...s.outcomes },
        business: { ...s.business },
        failures: s.failures,
        failureKinds: { ...s.failureKinds },
      })),
      admission: encodeHistogram(this.admission),
      funnel: { ...this.funnel },
    };
  }
}
