import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { LoadClient } from './client.ts';
import type { Recorder } from './recorder.ts';
import { type FlowContext, pickScenario, runFlow, UserDraws } from './scenarios.ts';
import { totalDurationMs } from './stages.ts';
import type { HaltReason, WorkerHealth, WorkerMessage, WorkerPlan } from './worker-plan.ts';

export const epochNow = () => performance.timeOrigin + performance.now();

/** One worker's run as its executor sees it: the clock, the two stop signals, and flows started under them. */
export class WorkerRun {
  readonly plan: WorkerPlan;
  readonly recorder: Recorder;
  /** The run's start on this thread's performance clock. */
  readonly origin: number;
  readonly totalMs: number;
  /** No new flows. */
  stopping = false;
  /** Everything ends now: sleeps wake at once and flows end at their next step. */
  halted = false;
  /** The first halt's reason and when it came (ms from the start). */
  haltReason: HaltReason | undefined;
  haltedAtMs = 0;
  /** Resolves at the first halt. */
  readonly whenHalted: Promise<void>;
  private signalHalt: () => void = () => undefined;
  /** Flows in progress. */
  active = 0;
  private readonly sleepers = new Set<() => void>();
  private readonly ctx: FlowContext;

  constructor(plan: WorkerPlan, recorder: Recorder, client: LoadClient) {
    this.plan = plan;
    this.recorder = recorder;
    this.origin = plan.startAtEpochMs - performance.timeOrigin;
    this.totalMs = totalDurationMs(plan.profile);
    this.whenHalted = new Promise((resolve) => {
      this.signalHalt = resolve;
    });
    const draws = new UserDraws();
    client.sharedKey = draws.isShared;
    this.ctx = {
      client,
      recorder,
      options: plan.flow,
      sleep: this.sleep,
      concertOfSchedule: new Map(),
      draws,
    };
  }

  elapsed(): number {
    return performance.now() - this.origin;
  }

  stop(): void {
    this.stopping = true;
  }

  halt(reason: HaltReason): void {
    if (!this.halted) {
      this.haltReason = reason;
      this.haltedAtMs = this.elapsed();
      this.signalHalt();
    }
    this.halted = true;
    this.stopping = true;
    for (const wake of [...this.sleepers]) wake();
  }

  /** Resolves to the intended wake-up time (performance ms), or undefined once the run is halted. */
  readonly sleep = (ms: number): Promise<number | undefined> => {
    const due = performance.now() + ms;
    if (this.halted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve(this.halted ? undefined : due);
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      this.sleepers.add(wake);
    });
  };

  /** Waits for the start shared by all workers. */
  async untilStart(): Promise<void> {
    const wait = this.origin - performance.now();
    if (wait > 0) await this.sleep(wait);
  }

  /** Runs one flow of the scenario to its end; `intendedAt` is when it was meant to start. */
  async startFlow(intendedAt: number): Promise<void> {
    const { recorder } = this;
    if (recorder.requests >= this.plan.maxRequests) this.halt('request-cap');
    if (this.halted) return;
    this.active++;
    recorder.vus = Math.max(recorder.vus, this.active);
    recorder.funnel.started++;
    try {
      const done = await runFlow(this.ctx, pickScenario(this.plan.scenario), intendedAt);
      if (done) recorder.flowCompleted(epochNow());
      else if (this.halted) recorder.funnel.aborted++;
    } catch {
      recorder.funnel.aborted++; // a bug in a flow must not end the run
    } finally {
      this.active--;
    }
  }
}

/** Every second a tick to the runner and the request cap; the duration cap once. Returns the stop. */
export function startHousekeeping(run: WorkerRun, emit: (message: WorkerMessage) => void): () => void {
  const { plan, recorder } = run;
  const ticker = setInterval(() => {
    const now = epochNow();
    recorder.sampleVus(now);
    const requests = recorder.requests;
    const seconds = recorder.drainSeconds(now);
    emit({ type: 'tick', workerIndex: plan.workerIndex, seconds, vus: recorder.vus, requests });
    if (requests >= plan.maxRequests) run.halt('request-cap');
  }, 1000);
  const cap = setTimeout(
    () => run.halt('duration-cap'),
    Math.max(0, run.origin + plan.durationCapMs - performance.now()),
  );
  return () => {
    clearInterval(ticker);
    clearTimeout(cap);
  };
}

/** This thread's CPU, event-loop use and lag over the run. */
export class HealthProbe {
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly eluStart = performance.eventLoopUtilization();
  private readonly cpuStart = process.threadCpuUsage();
  private readonly wallStart = performance.now();
  private utilization = 0;

  constructor() {
    this.lag.enable();
  }

  /** Ends the event-loop measurements: the run's own work is over. */
  stopLoop(): void {
    this.lag.disable();
    this.utilization = performance.eventLoopUtilization(this.eluStart).utilization;
  }

  read(): WorkerHealth {
    const cpu = process.threadCpuUsage(this.cpuStart);
    const wallMs = performance.now() - this.wallStart;
    return {
      cpuPercent: Math.round(((cpu.user + cpu.system) / 10 / wallMs) * 10) / 10,
      eventLoopUtilization: Math.round(this.utilization * 1000) / 1000,
      lagP99Ms: Math.round(this.lag.percentile(99) / 1e4) / 100,
      lagMaxMs: Math.round(this.lag.max / 1e4) / 100,
    };
  }
}
