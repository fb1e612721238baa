import type { FlowMetricsSnapshot } from './flow-metrics.ts';
import type { RecorderSnapshot, SecondSnapshot } from './recorder.ts';
import type { FlowOptions, ScenarioChoice } from './scenarios.ts';
import type { Profile } from './stages.ts';

export const EXECUTORS = ['ramping-vus', 'ramping-arrival-rate'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** The on-sale profile: distinct users 1..N join within a window, then buy seats of the first schedules. */
export interface OnsalePlan {
  users: number;
  /** Users arrive evenly within this window (ms from the start). */
  joinMs: number;
  /** Schedules firstSchedule.. firstSchedule + N - 1 are on sale (a 10,000-seat sale of 100-seat schedules: 100). */
  saleSchedules: number;
  /** The first schedule on sale (1 unless a run sells other schedules than an earlier run on the same target). */
  firstSchedule: number;
  seatsPerSchedule: number;
  /** Connections to the target over all workers: sleeping users need none. */
  connections: number;
  /** Admitted fans who give up without a seat leave the line (DELETE their token), freeing the slot at once. */
  leave: boolean;
  /**
   * Holds, top-ups and payments carry an Idempotency-Key, as the web checkout sends them: a fresh one per
   * step, the same one when the step is retried after a 503 or 429.
   */
  idempotencyKeys: boolean;
  /** With --sale-opens-in: the sale the runner created through the admin API, and when it opens (epoch ms). */
  sale?: { saleId: number; opensAtEpochMs: number };
  /** --sale-opens-in, before the sale exists: how long after the start it opens (ms). */
  saleOpensInMs?: number;
}

/** Everything one worker needs; plain data so it crosses a worker boundary. */
export interface WorkerPlan {
  target: string;
  scenario: ScenarioChoice;
  executor: ExecutorName;
  /** The whole run's profile: VUs (closed) or flows/s (open); each worker takes its part. */
  profile: Profile;
  workerIndex: number;
  workerCount: number;
  flow: FlowOptions;
  timeoutMs: number;
  /** Closed model: time VUs get to finish their flow after the profile; then they are cut. */
  gracefulStopMs: number;
  /** Hard cap on the run, ms from its start. */
  durationCapMs: number;
  /** This worker's share of the request cap. */
  maxRequests: number;
  /** Open model: this worker's bound on concurrent flows; arrivals beyond it are dropped. */
  maxVus: number;
  /** Wall-clock start shared by all workers, so their seconds line up. */
  startAtEpochMs: number;
  /** Set for `--profile onsale`: flows are on-sale users, each worker taking every `workerCount`-th. */
  onsale?: OnsalePlan;
}

export interface WorkerHealth {
  /** CPU of this thread over its run, in % of one core. */
  cpuPercent: number;
  eventLoopUtilization: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

export type WorkerMessage =
  | { type: 'tick'; workerIndex: number; seconds: SecondSnapshot[]; vus: number; requests: number }
  | {
      type: 'done';
      workerIndex: number;
      seconds: SecondSnapshot[];
      snapshot: RecorderSnapshot;
      health: WorkerHealth;
      /** On-sale runs only. */
      flows?: FlowMetricsSnapshot;
      /** Set when this worker's run was halted before its flows ended on their own. */
      cut?: WorkerCut;
    };

/** Why a run was halted before its flows ended on their own. */
export type HaltReason = 'duration-cap' | 'request-cap' | 'graceful-stop' | 'hard-limit';

/** A worker's run halted early: why, when (ms from the start), and the requests it ended unanswered. */
export interface WorkerCut {
  reason: HaltReason;
  atMs: number;
  requestsCut: number;
}
