import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { LoadClient } from './client.ts';
import { Recorder, type RecorderSnapshot, type SecondSnapshot } from './recorder.ts';
import {
  type FlowContext,
  type FlowOptions,
  pickScenario,
  runFlow,
  type ScenarioChoice,
} from './scenarios.ts';
import { arrivalsBy, levelAt, maxLevel, type Profile, totalDurationMs } from './stages.ts';

export const EXECUTORS = ['ramping-vus', 'ramping-arrival-rate'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

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
    };

/** This worker's whole part of a level split over `count` workers (parts sum to the level). */
export function partOf(level: number, index: number, count: number): number {
  const whole = Math.floor(level + 1e-9);
  return Math.floor((whole * (index + 1)) / count) - Math.floor((whole * index) / count);
}

/** Elapsed ms at which the profile's `n`-th arrival is due (n from 1), Infinity past the end. */
export function arrivalTime(profile: Profile, n: number, fromMs: number, totalMs: number): number {
  if (arrivalsBy(profile, totalMs) < n) return Number.POSITIVE_INFINITY;
  let lo = fromMs;
  let hi = totalMs;
  for (let i = 0; i < 50 && hi - lo > 0.01; i++) {
    const mid = (lo + hi) / 2;
    if (arrivalsBy(profile, mid) >= n) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Runs one worker's part of the load; `emit` receives ticks each second and a final summary. */
export async function runWorkerPlan(plan: WorkerPlan, emit: (message: WorkerMessage) => void): Promise<void> {
  const recorder = new Recorder(plan.startAtEpochMs);
  const peak =
    plan.executor === 'ramping-vus'
      ? partOf(maxLevel(plan.profile), plan.workerIndex, plan.workerCount)
      : plan.maxVus;
  const client = new LoadClient(plan.target, Math.max(1, peak), plan.timeoutMs, recorder);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const eluStart = performance.eventLoopUtilization();
  const cpuStart = process.threadCpuUsage();
  const wallStart = performance.now();
  const origin = plan.startAtEpochMs - performance.timeOrigin; // run start on this thread's clock
  const totalMs = totalDurationMs(plan.profile);

  let stopping = false; // no new flows
  let halted = false; // everything ends now
  const sleepers = new Set<() => void>();
  let requestsSeen = 0;

  const halt = () => {
    halted = true;
    stopping = true;
    for (const wake of [...sleepers]) wake();
  };

  const sleep = (ms: number): Promise<number | undefined> => {
    const due = performance.now() + ms;
    if (halted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve(halted ? undefined : due);
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      sleepers.add(wake);
    });
  };

  const ctx: FlowContext = {
    client,
    recorder,
    options: plan.flow,
    sleep,
    concertOfSchedule: new Map(),
  };

  let active = 0;
  const startFlow = async (intendedAt: number) => {
    if (recorder.requests >= plan.maxRequests) halt();
    if (halted) return;
    active++;
    recorder.vus = Math.max(recorder.vus, active);
    recorder.funnel.started++;
    try {
      const done = await runFlow(ctx, pickScenario(plan.scenario), intendedAt);
      if (done) recorder.flowCompleted(performance.timeOrigin + performance.now());
      else if (halted) recorder.funnel.aborted++;
    } catch {
      recorder.funnel.aborted++; // a bug in a flow must not end the run
    } finally {
      active--;
    }
  };

  // Housekeeping every second: ticks to the runner, caps.
  const capTimer = setInterval(() => {
    const nowEpoch = performance.timeOrigin + performance.now();
    recorder.sampleVus(nowEpoch);
    requestsSeen = recorder.requests;
    emit({
      type: 'tick',
      workerIndex: plan.workerIndex,
      seconds: recorder.drainSeconds(nowEpoch),
      vus: recorder.vus,
      requests: requestsSeen,
    });
    if (requestsSeen >= plan.maxRequests) halt();
  }, 1000);
  const hardTimer = setTimeout(halt, Math.max(0, origin + plan.durationCapMs - performance.now()));

  try {
    const untilStart = origin - performance.now();
    if (untilStart > 0) await sleep(untilStart);
    if (plan.executor === 'ramping-vus') await rampVus();
    else await rampArrivals();
  } finally {
    clearInterval(capTimer);
    clearTimeout(hardTimer);
  }

  async function rampVus() {
    const vus: { retiring: boolean; done: Promise<void> }[] = [];
    const vuLoop = async (vu: { retiring: boolean }) => {
      // Bounded: each flow is bounded, and the loop ends on retire, stop or halt.
      while (!vu.retiring && !stopping) {
        await startFlow(performance.now());
        if (halted) break;
      }
    };
    const alive = () => vus.length;
    while (!stopping) {
      const elapsed = performance.now() - origin;
      if (elapsed >= totalMs) break;
      const want = partOf(levelAt(plan.profile, elapsed), plan.workerIndex, plan.workerCount);
      let working = vus.filter((v) => !v.retiring).length;
      while (working < want) {
        const vu = { retiring: false, done: Promise.resolve() };
        vu.done = vuLoop(vu).finally(() => vus.splice(vus.indexOf(vu), 1));
        vus.push(vu);
        working++;
      }
      for (let i = vus.length - 1; i >= 0 && working > want; i--) {
        if (!vus[i].retiring) {
          vus[i].retiring = true; // graceful: it finishes the flow it is in
          working--;
        }
      }
      recorder.vus = alive();
      recorder.sampleVus(performance.timeOrigin + performance.now());
      await sleep(50);
    }
    stopping = true;
    const graceful = setTimeout(halt, plan.gracefulStopMs);
    const watch = setInterval(() => {
      recorder.vus = alive();
    }, 100);
    await Promise.all(vus.map((v) => v.done));
    clearTimeout(graceful);
    clearInterval(watch);
    recorder.vus = 0;
  }

  async function rampArrivals() {
    const running = new Set<Promise<void>>();
    let lastMs = 0;
    let burst = 0;
    for (let n = plan.workerIndex + 1; !stopping; n += plan.workerCount) {
      const at = arrivalTime(plan.profile, n, lastMs, totalMs);
      if (!Number.isFinite(at)) break;
      lastMs = at;
      const due = origin + at;
      const wait = due - performance.now();
      if (wait > 1) {
        if ((await sleep(wait)) === undefined) break;
      } else if (++burst % 256 === 0) {
        await new Promise((r) => setImmediate(r)); // let answers in while catching up
      }
      if (stopping) break;
      if (active >= plan.maxVus) {
        recorder.funnel.dropped++;
        continue;
      }
      const flow = startFlow(due);
      running.add(flow);
      flow.finally(() => running.delete(flow));
      recorder.vus = active;
    }
    stopping = true;
    const graceful = setTimeout(halt, plan.gracefulStopMs);
    const watch = setInterval(() => {
      recorder.vus = active;
    }, 100);
    await Promise.all(running);
    clearTimeout(graceful);
    clearInterval(watch);
    recorder.vus = 0;
  }

  lag.disable();
  const elu = performance.eventLoopUtilization(eluStart);
  await client.close().catch(() => undefined);
  const cpu = process.threadCpuUsage(cpuStart);
  const health: WorkerHealth = {
    cpuPercent: Math.round(((cpu.user + cpu.system) / 10 / (performance.now() - wallStart)) * 10) / 10,
    eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
    lagP99Ms: Math.round(lag.percentile(99) / 1e4) / 100,
    lagMaxMs: Math.round(lag.max / 1e4) / 100,
  };
  emit({
    type: 'done',
    workerIndex: plan.workerIndex,
    seconds: recorder.drainSeconds(Number.POSITIVE_INFINITY),
    snapshot: recorder.snapshot(),
    health,
  });
}
