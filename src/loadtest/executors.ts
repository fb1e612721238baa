import { performance } from 'node:perf_hooks';
import { LoadClient } from './client.ts';
import { OnsaleArrivals } from './onsale.ts';
import { Recorder } from './recorder.ts';
import { arrivalsBy, levelAt, maxLevel, type Profile } from './stages.ts';
import type { WorkerMessage, WorkerPlan } from './worker-plan.ts';
import { epochNow, HealthProbe, startHousekeeping, WorkerRun } from './worker-run.ts';

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

/** How flows are started; every executor ends with the same drain. */
interface Executor {
  /** Starts flows as the profile says, until the profile ends or the run stops. */
  ramp(): Promise<void>;
  /** What the VU count shows while draining. */
  inFlight(): number;
  /** Resolves when every flow started has ended. */
  settled(): Promise<unknown>;
  /** Stops the executor's own timers, whether or not its flows settled. */
  close(): void;
}

interface Vu {
  retiring: boolean;
  done: Promise<void>;
}

/** Closed model: the profile's level is this worker's part of the VUs, each running flows back to back. */
class RampingVus implements Executor {
  private readonly run: WorkerRun;
  private readonly vus: Vu[] = [];

  constructor(run: WorkerRun) {
    this.run = run;
  }

  async ramp(): Promise<void> {
    const { run } = this;
    const { plan, recorder } = run;
    while (!run.stopping) {
      const elapsed = run.elapsed();
      if (elapsed >= run.totalMs) break;
      this.resize(partOf(levelAt(plan.profile, elapsed), plan.workerIndex, plan.workerCount));
      recorder.vus = this.vus.length;
      recorder.sampleVus(epochNow());
      await run.sleep(50);
    }
  }

  inFlight(): number {
    return this.vus.length;
  }

  settled(): Promise<unknown> {
    return Promise.all(this.vus.map((v) => v.done));
  }

  close(): void {}

  /** Adds VUs up to `want`; beyond it the newest retire, each after the flow it is in. */
  private resize(want: number): void {
    let working = this.vus.filter((v) => !v.retiring).length;
    for (; working < want; working++) this.vus.push(this.spawn());
    for (let i = this.vus.length - 1; i >= 0 && working > want; i--) {
      if (!this.vus[i].retiring) {
        this.vus[i].retiring = true;
        working--;
      }
    }
  }

  private spawn(): Vu {
    const vu: Vu = { retiring: false, done: Promise.resolve() };
    vu.done = this.loop(vu).finally(() => this.vus.splice(this.vus.indexOf(vu), 1));
    return vu;
  }

  /** Bounded: each flow is bounded, and the loop ends on retire, stop or halt. */
  private async loop(vu: Vu): Promise<void> {
    while (!vu.retiring && !this.run.stopping) {
      await this.run.startFlow(performance.now());
      if (this.run.halted) break;
    }
  }
}

/** Open model: flows arrive at the profile's rate, this worker taking every `workerCount`-th arrival. */
class RampingArrivalRate implements Executor {
  private readonly run: WorkerRun;
  private readonly running = new Set<Promise<void>>();
  private burst = 0;

  constructor(run: WorkerRun) {
    this.run = run;
  }

  async ramp(): Promise<void> {
    const { run } = this;
    const { plan } = run;
    let lastMs = 0;
    for (let n = plan.workerIndex + 1; !run.stopping; n += plan.workerCount) {
      const at = arrivalTime(plan.profile, n, lastMs, run.totalMs);
      if (!Number.isFinite(at)) break;
      lastMs = at;
      const due = run.origin + at;
      if (!(await this.waitFor(due)) || run.stopping) break;
      this.arrive(due);
    }
  }

  inFlight(): number {
    return this.run.active;
  }

  settled(): Promise<unknown> {
    return Promise.all(this.running);
  }

  close(): void {}

  /** False when the run was halted during the wait. */
  private async waitFor(due: number): Promise<boolean> {
    const wait = due - performance.now();
    if (wait > 1) return (await this.run.sleep(wait)) !== undefined;
    if (++this.burst % 256 === 0) await new Promise((r) => setImmediate(r)); // let answers in while catching up
    return true;
  }

  /** Starts the flow due at `due`, or drops it at the VU cap. */
  private arrive(due: number): void {
    const { run } = this;
    if (run.active >= run.plan.maxVus) {
      run.recorder.funnel.dropped++;
      return;
    }
    const flow = run.startFlow(due);
    this.running.add(flow);
    flow.finally(() => this.running.delete(flow));
    run.recorder.vus = run.active;
  }
}

/** After a halt, flows get this long to end on their own; then their requests are cut and the worker reports. */
export const SETTLE_AFTER_HALT_MS = 2000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * After the ramp: no new flows; those running get the graceful stop, then are cut. A halted run (a cap, the
 * graceful stop) waits only SETTLE_AFTER_HALT_MS for answers in flight, then cuts them: a loaded target must
 * not keep the worker from reporting what it measured.
 */
async function drain(run: WorkerRun, executor: Executor, client: LoadClient): Promise<void> {
  run.stop();
  const graceful = setTimeout(() => run.halt('graceful-stop'), run.plan.gracefulStopMs);
  const watch = setInterval(() => {
    run.recorder.vus = executor.inFlight();
  }, 100);
  const settled = executor.settled();
  await Promise.race([settled, run.whenHalted.then(() => delay(SETTLE_AFTER_HALT_MS))]);
  if (run.halted) {
    await client.cut();
    await Promise.race([settled, delay(SETTLE_AFTER_HALT_MS)]);
  }
  executor.close();
  clearTimeout(graceful);
  clearInterval(watch);
  run.recorder.vus = 0;
}

/** Connections this worker may need at once: its peak VUs (closed), its flow cap (open), its share (on-sale). */
function connectionsFor(plan: WorkerPlan): number {
  if (plan.onsale) return Math.max(1, Math.ceil(plan.onsale.connections / plan.workerCount));
  const peak =
    plan.executor === 'ramping-vus'
      ? partOf(maxLevel(plan.profile), plan.workerIndex, plan.workerCount)
      : plan.maxVus;
  return Math.max(1, peak);
}

/**
 * Runs one worker's part of the load; `emit` receives ticks each second and one final summary. When
 * `reportNow` resolves (the runner's hard limit), the run is halted, its requests cut, and the summary of
 * what was measured so far is sent at once.
 */
export async function runWorkerPlan(
  plan: WorkerPlan,
  emit: (message: WorkerMessage) => void,
  reportNow?: Promise<void>,
): Promise<void> {
  const recorder = new Recorder(plan.startAtEpochMs);
  const client = new LoadClient(plan.target, connectionsFor(plan), plan.timeoutMs, recorder);
  const health = new HealthProbe();
  const run = new WorkerRun(plan, recorder, client);
  const stopHousekeeping = startHousekeeping(run, emit);
  let executor: Executor | undefined;
  let reported = false;
  const report = () => {
    if (reported) return;
    reported = true;
    health.stopLoop();
    const flows = executor instanceof OnsaleArrivals ? executor.metrics.snapshot() : undefined;
    emit({
      type: 'done',
      workerIndex: plan.workerIndex,
      seconds: recorder.drainSeconds(Number.POSITIVE_INFINITY),
      snapshot: recorder.snapshot(),
      health: health.read(),
      ...(flows ? { flows } : {}),
      ...(run.haltReason
        ? {
            cut: {
              reason: run.haltReason,
              atMs: Math.round(run.haltedAtMs),
              requestsCut: client.cutRequests,
            },
          }
        : {}),
    });
  };
  reportNow?.then(async () => {
    if (reported) return;
    run.halt('hard-limit');
    stopHousekeeping();
    await client.cut();
    executor?.close();
    report();
  });
  try {
    await run.untilStart();
    executor = plan.onsale
      ? new OnsaleArrivals(run, client)
      : plan.executor === 'ramping-vus'
        ? new RampingVus(run)
        : new RampingArrivalRate(run);
    await executor.ramp();
    await drain(run, executor, client);
  } finally {
    stopHousekeeping();
  }
  await client.close().catch(() => undefined);
  report();
}
