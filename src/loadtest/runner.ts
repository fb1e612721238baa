import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { mergeSnapshots } from './aggregate.ts';
import { runWorkerPlan } from './executors.ts';
import { type OnsaleResult, summarizeOnsale } from './onsale-summary.ts';
import type { Funnel } from './recorder.ts';
import { cutShortText } from './report-console.ts';
import type { CutShort, LoadResult } from './result.ts';
import { RunMonitor, type RunnerMessage, type WorkerDone } from './run-monitor.ts';
import { totalDurationMs } from './stages.ts';
import type { WorkerCut, WorkerHealth, WorkerPlan } from './worker-plan.ts';

export interface RunOptions
  extends Omit<WorkerPlan, 'workerIndex' | 'workerCount' | 'startAtEpochMs' | 'maxRequests' | 'maxVus'> {
  embedded: boolean;
  profileName: string;
  /** Worker threads; 0 runs the load on this thread (tests, tiny runs). */
  workers: number;
  maxRequests: number;
  /** Open model: bound on concurrent flows over all workers. */
  maxVus: number;
  serverMetricsUrl?: string;
  /** Receives the live progress line, at most once a second. */
  progress?: (line: string) => void;
}

const SATURATED_ELU = 0.9;
const SATURATED_LAG_MS = 50;

/** Runs the plan on `workers` threads, merges their numbers exactly, and returns the result. */
export async function runLoad(opts: RunOptions): Promise<LoadResult> {
  const workerCount = Math.max(1, opts.workers);
  // Threads boot first and say so; the shared start is set only once every one of them is ready, so a
  // slow boot (a loaded machine) never eats the first seconds of the profile.
  const threads = opts.workers > 0 ? await bootThreads(workerCount) : undefined;
  const startAt = Date.now() + (threads ? 50 : 20);
  const monitor = new RunMonitor({ ...opts, startAt, workerCount });
  monitor.start();
  const plans = planWorkers(opts, workerCount, startAt);
  // A run that hangs past its cap is cut: every worker must be done by then.
  const totalMs = totalDurationMs(opts.profile);
  const hardLimitMs =
    startAt - Date.now() + Math.min(opts.durationCapMs, totalMs + opts.gracefulStopMs) + 15_000;
  try {
    if (!threads) await runHere(plans[0], monitor, hardLimitMs);
    else await runOnThreads(threads, plans, monitor.receive, hardLimitMs);
  } finally {
    monitor.stop();
  }
  return resultOf(opts, monitor, startAt, workerCount);
}

/** One plan per worker: the same profile, an equal share of the caps, one shared start. */
function planWorkers(opts: RunOptions, workerCount: number, startAt: number): WorkerPlan[] {
  return Array.from({ length: workerCount }, (_, i) => ({
    target: opts.target,
    scenario: opts.scenario,
    executor: opts.executor,
    profile: opts.profile,
    workerIndex: i,
    workerCount,
    flow: opts.flow,
    timeoutMs: opts.timeoutMs,
    gracefulStopMs: opts.gracefulStopMs,
    durationCapMs: opts.durationCapMs,
    maxRequests: Math.ceil(opts.maxRequests / workerCount),
    maxVus: Math.max(1, Math.ceil(opts.maxVus / workerCount)),
    startAtEpochMs: startAt,
    onsale: opts.onsale,
  }));
}

/** How long a worker told to report now (past the hard limit) gets to send what it measured. */
const REPORT_NOW_MS = 10_000;

/** Runs the plan on this thread; past the hard limit it is cut and reports what it measured. */
async function runHere(plan: WorkerPlan, monitor: RunMonitor, limitMs: number): Promise<void> {
  let reportNow: () => void = () => undefined;
  const signal = new Promise<void>((resolve) => {
    reportNow = resolve;
  });
  let reported: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    reported = resolve;
  });
  const work = runWorkerPlan(
    plan,
    (m) => {
      monitor.receive(m);
      if (m.type === 'done') reported();
    },
    signal,
  );
  work.catch((err) => console.error(`loadtest worker failed: ${(err as Error)?.stack ?? err}`));
  if (
    await withLimit(
      done.then(() => true),
      limitMs,
      () => false,
    )
  )
    return;
  reportNow();
  await withLimit(done, REPORT_NOW_MS, () => undefined);
}

/** How long threads may take to load their modules before the run gives up on them. */
const BOOT_LIMIT_MS = 60_000;

/** Starts the threads and resolves once each has loaded its modules and waits for its plan. */
async function bootThreads(count: number): Promise<Worker[]> {
  // `node --input-type=module -e` would make the worker refuse its file; other flags are inherited.
  const execArgv = process.execArgv.some((a) => a.startsWith('--input-type'))
    ? { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) }
    : {};
  const threads = Array.from(
    { length: count },
    () => new Worker(new URL('./worker.ts', import.meta.url), execArgv),
  );
  const listeners: Array<() => void> = [];
  const ready = threads.map(
    (thread) =>
      new Promise<void>((resolve, reject) => {
        const onMessage = (m: { type?: string }) =>
          m?.type === 'ready' ? resolve() : reject(new Error(`loadtest worker sent ${m?.type} before ready`));
        const onExit = (code: number) =>
          reject(new Error(`loadtest worker exited with ${code} before ready`));
        thread.on('message', onMessage).on('error', reject).on('exit', onExit);
        listeners.push(() => thread.off('message', onMessage).off('error', reject).off('exit', onExit));
      }),
  );
  let booted: boolean | Error;
  try {
    booted = await withLimit(
      Promise.all(ready).then(() => true),
      BOOT_LIMIT_MS,
      () => false,
    );
  } catch (err) {
    booted = err as Error;
  }
  if (booted !== true) {
    await Promise.all(threads.map((t) => t.terminate()));
    throw booted || new Error(`loadtest workers were not ready within ${BOOT_LIMIT_MS / 1000} s`);
  }
  // Only our own listeners go: removeAllListeners() on a Worker held back its later messages until exit.
  for (const off of listeners) off();
  return threads;
}

async function runOnThreads(
  threads: Worker[],
  plans: WorkerPlan[],
  receive: (message: RunnerMessage) => void,
  limitMs: number,
): Promise<void> {
  const finished = threads.map(
    (thread) =>
      new Promise<void>((resolve) => {
        thread.on('message', (m: RunnerMessage) => {
          receive(m);
          if (m.type === 'done') resolve();
        });
        thread.on('error', (err: Error) => {
          console.error(`loadtest worker error: ${err.stack ?? err.message}`);
          resolve();
        });
        thread.on('exit', () => resolve());
      }),
  );
  threads.forEach((thread, i) => {
    thread.postMessage({ type: 'plan', plan: plans[i] });
  });
  const all = Promise.all(finished).then(() => true);
  if (!(await withLimit(all, limitMs, () => false))) {
    // Past the hard limit: each worker cuts its run and sends what it measured before it is ended.
    for (const thread of threads) thread.postMessage({ type: 'report-now' });
    await withLimit(all, REPORT_NOW_MS, () => false);
  }
  await Promise.all(threads.map((t) => t.terminate()));
}

function resultOf(opts: RunOptions, monitor: RunMonitor, startAt: number, workerCount: number): LoadResult {
  const durationS = Math.max(0.001, (Date.now() - startAt) / 1000);
  const done = monitor.done.sort((a, b) => a.workerIndex - b.workerIndex);
  const merged = mergeSnapshots(
    done.map((d) => d.snapshot),
    durationS,
  );
  const timeline = monitor.timeline.points();
  const generator = generatorOf(opts, monitor, merged.flows.funnel, workerCount);
  const onsale = opts.onsale
    ? summarizeOnsale(
        opts.onsale,
        done.flatMap((d) => (d.flows ? [d.flows] : [])),
        timeline,
        startAt,
        generator.cpuPercentOfOneCore,
      )
    : undefined;
  if (onsale) generator.warnings.push(...onsaleWarnings(generator, onsale));
  const cutShort = cutShortOf(done, workerCount);
  if (cutShort) generator.warnings.unshift(cutShortText(cutShort));
  return {
    version: 1,
    startedAt: new Date(startAt).toISOString(),
    durationS: Math.round(durationS * 1000) / 1000,
    config: {
      target: opts.target,
      embedded: opts.embedded,
      scenario: opts.scenario,
      executor: opts.executor,
      profileName: opts.profileName,
      profile: opts.profile,
      workers: opts.workers,
      thinkScale: opts.flow.thinkScale,
      honorPollHint: opts.flow.honorPollHint,
    },
    totals: merged.totals,
    endpoints: merged.endpoints,
    flows: merged.flows,
    timeline,
    generator,
    thresholds: [],
    ...(cutShort ? { cutShort } : {}),
    ...(onsale ? { onsale } : {}),
  };
}

/** The run was halted before its flows ended on their own (a cap, the graceful stop) or a worker never reported. */
function cutShortOf(done: WorkerDone[], workerCount: number): CutShort | undefined {
  const cuts = done.flatMap((d) => (d.cut ? [d.cut] : []));
  const missing = workerCount - done.length;
  if (!cuts.length && missing <= 0) return undefined;
  const first = cuts.reduce<WorkerCut | undefined>((a, c) => (a && a.atMs <= c.atMs ? a : c), undefined);
  return {
    reason: first?.reason ?? 'hard-limit',
    atS: first ? Math.round(first.atMs / 100) / 10 : null,
    workersCut: cuts.length,
    workersMissing: Math.max(0, missing),
    requestsCut: cuts.reduce((sum, c) => sum + c.requestsCut, 0),
  };
}
/** The generator's own health, and warnings when its numbers cannot be taken at face value. */
function generatorOf(
  opts: RunOptions,
  monitor: RunMonitor,
  funnel: Funnel,
  workerCount: number,
): LoadResult['generator'] {
  const health: WorkerHealth[] = monitor.done.map((d) => d.health);
  const warnings: string[] = [];
  if (health.length < workerCount)
    warnings.push(`${workerCount - health.length} worker(s) did not report: numbers are partial`);
  const busy = health.filter(
    (h) =>
      h.eventLoopUtilization >= SATURATED_ELU ||
      h.cpuPercent >= SATURATED_ELU * 100 ||
      h.lagP99Ms >= SATURATED_LAG_MS,
  );
  if (busy.length) {
    warnings.push(
      `the load generator was saturated (${busy.length}/${health.length} worker(s) with event-loop use >= ${SATURATED_ELU * 100}% ` +
        `or lag p99 >= ${SATURATED_LAG_MS} ms): latencies include generator delay; add --workers or lower the load`,
    );
  }
  if (opts.scenario !== 'ping' && funnel.started > 0 && funnel.issued === 0) {
    warnings.push(
      "no flow got a queue token: is POST /api/users/:userId/token served by the target? (see the 'token' row)",
    );
  }
  if (funnel.dropped > 0) warnings.push(`${funnel.dropped} flow(s) were dropped at the VU cap (--max-vus)`);
  const scraper = monitor.scraper;
  if (scraper && scraper.failures > 0) warnings.push(`${scraper.failures} server-metrics scrape(s) failed`);
  return {
    cpuPercentOfOneCore: Math.round(health.reduce((sum, h) => sum + h.cpuPercent, 0) * 10) / 10,
    cores: availableParallelism(),
    workers: health,
    saturated: busy.length > 0,
    warnings,
  };
}

/** Which side of an on-sale run was saturated, and whether the generator crowded the server on this machine. */
function onsaleWarnings(generator: LoadResult['generator'], onsale: OnsaleResult): string[] {
  const warnings: string[] = [];
  const busy = generator.workers.filter(
    (h) => h.eventLoopUtilization >= SATURATED_ELU || h.cpuPercent >= SATURATED_ELU * 100,
  );
  if (busy.length) warnings.push('the generator, not the server, was the saturated side of this on-sale run');
  else if (generator.saturated)
    warnings.push(
      'the generator lagged while its threads were mostly idle: the machine was contended (other processes), not the generator saturated',
    );
  const share = onsale.generator.generatorCpuShare;
  if (share !== null && share >= 0.5)
    warnings.push(
      `the generator used ${Math.round(share * 100)}% of the CPU it and the server used together: on a shared machine it competes with the server it measures`,
    );
  return warnings;
}

async function withLimit<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), Math.max(1000, ms));
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}
