import type { LatencySummary } from './histogram.ts';
import type { OnsaleResult } from './onsale-summary.ts';
import type { OutcomeCounts } from './outcomes.ts';
import type { Funnel } from './recorder.ts';
import type { Profile } from './stages.ts';
import type { TimelinePoint } from './timeline-point.ts';
import type { HaltReason, WorkerHealth } from './worker-plan.ts';

export type { TimelinePoint };

export interface EndpointResult extends LatencySummary {
  route: string;
  tps: number;
  outcomes: OutcomeCounts;
  /** Business outcomes by error code (seat taken, insufficient points): not failures. */
  business: Record<string, number>;
  failures: number;
  /** Failures by what ended them: status and error code ('503 OVERLOADED'), 'timeout', 'conn ECONNRESET'. Absent in results of older runners. */
  failureKinds?: Record<string, number>;
  failureRate: number;
  /** Encoded HDR histogram (µs), so results can be merged and compared exactly later. */
  histogram: string;
}

export interface CutShort {
  reason: HaltReason;
  /** When the first worker was halted, s from the start (null: no worker said). */
  atS: number | null;
  workersCut: number;
  /** Workers that never sent their summary: their requests are missing from the figures. */
  workersMissing: number;
  /** Requests in flight or queued at the cut, ended unanswered and not counted. */
  requestsCut: number;
}

export interface ThresholdResult {
  expression: string;
  actual: number;
  ok: boolean;
}

export interface LoadResult {
  version: 1;
  startedAt: string;
  durationS: number;
  config: {
    target: string;
    embedded: boolean;
    scenario: string;
    executor: string;
    profileName: string;
    profile: Profile;
    workers: number;
    thinkScale: number;
    honorPollHint: boolean;
  };
  totals: EndpointResult;
  endpoints: EndpointResult[];
  flows: {
    funnel: Funnel;
    admission: { count: number; p50Ms: number; p95Ms: number; maxMs: number };
    flowsPerSecond: number;
  };
  timeline: TimelinePoint[];
  generator: {
    cpuPercentOfOneCore: number;
    cores: number;
    workers: WorkerHealth[];
    saturated: boolean;
    warnings: string[];
  };
  thresholds: ThresholdResult[];
  /** Set when the run did not end on its own: every figure covers only what was measured until the cut. */
  cutShort?: CutShort;
  /** `--profile onsale` only: ETA accuracy, purchases, sell-out, polls by crowd size, cost per virtual user. */
  onsale?: OnsaleResult;
}
