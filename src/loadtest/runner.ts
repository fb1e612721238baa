import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { mergeSnapshots, Timeline } from './aggregate.ts';
import { runWorkerPlan } from './executors.ts';
import type { LoadResult } from './result.ts';
import { ServerMetricsScraper } from './server-metrics.ts';
import { stageIndexAt, totalDurationMs } from './stages.ts';
import type { WorkerHealth, WorkerMessage, WorkerPlan } from './worker-plan.ts';

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

type Done = Extract<WorkerMessage, { type: 'done' }>;

const SATURATED_ELU = 0.9;
const SATURATED_LAG_MS = 50;

/** Runs the plan on `workers` threads, merges their numbers exactly, and returns the result. */
export async function runLoad(opts: RunOptions): Promise<LoadResult> {
  const workerCount = Math.max(1, opts.workers);
  const startAt = Date.now() + (opts.workers > 0 ? 750 : 20); // workers boot before the shared start
  const timeline = new Timeline();
  const done: Done[] = [];
  const latestVus = new Array<number>(workerCount).fill(0);
  const reportedSeconds = new Array<number>(workerCount).fill(-1);

  const onMessage = (message: WorkerMessage | { type: 'error'; message: string }) => {
    if (message.type === 'error') {
      console.error(`loadtest worker failed: ${message.message}`);
      return;
    }
    timeline.add(message.seconds);
    const last = message.seconds.at(-1)?.second;
    if (last !== undefined)
      reportedSeconds[message.workerIndex] = Math.max(reportedSeconds[message.workerIndex], last);
    if (message.type === 'tick') latestVus[message.workerIndex] = message.vus;
    else done.push(message);
  };

  const scraper = opts.serverMetricsUrl ? new ServerMetricsScraper(opts.serverMetricsUrl) : undefined;
  const totalMs = totalDurationMs(opts.profile);
  const ticker = setInterval(async () => {
    const second = Math.floor((Date.now() - startAt) / 1000);
    if (second < 0) return;
    if (scraper) {
      const values = await scraper.scrape();
      if (values) timeline.addServer(second, values);
    }
    if (opts.progress) {
      const complete = Math.min(...reportedSeconds);
      const point = complete >= 0 ? timeline.point(complete) : undefined;
      const stage = stageIndexAt(opts.profile, Date.now() - startAt);
      const stageText =
        stage < opts.profile.stages.length ? `${stage + 1}/${opts.profile.stages.length}` : 'ramp-down';
      const vus = latestVus.reduce((a, b) => a + b, 0);
      opts.progress(
        `[${String(second).padStart(4)}s/${Math.round(totalMs / 1000)}s] stage ${stageText}  VUs ${vus}  ` +
          `req/s ${point?.rps ?? 0}  p95 ${(point?.p95Ms ?? 0).toFixed(1)} ms  errors ${point?.failures ?? 0}`,
      );
    }
  }, 1000);

  const plans: WorkerPlan[] = [];
  for (let i = 0; i < workerCount; i++) {
    plans.push({
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
    });
  }

  // A run that hangs past its cap is cut: every worker must be done by then.
  const hardLimitMs =
    startAt - Date.now() + Math.min(opts.durationCapMs, totalMs + opts.gracefulStopMs) + 15_000;
  try {
    if (opts.workers === 0) {
      await withLimit(runWorkerPlan(plans[0], onMessage), hardLimitMs, () => undefined);
    } else {
      const threads = plans.map(
        (plan) =>
          new Worker(new URL('./worker.ts', import.meta.url), {
            workerData: plan,
            // `node --input-type=module -e` would make the worker refuse its file; other flags are inherited.
            ...(process.execArgv.some((a) => a.startsWith('--input-type'))
              ? { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) }
              : {}),
          }),
      );
      const finished = threads.map(
        (thread) =>
          new Promise<void>((resolve) => {
            thread.on('message', (m) => {
              onMessage(m);
              if (m.type === 'done') resolve();
            });
            thread.on('error', (err: Error) => {
              console.error(`loadtest worker error: ${err.stack ?? err.message}`);
              resolve();
            });
            thread.on('exit', () => resolve());
          }),
      );
      await withLimit(Promise.all(finished), hardLimitMs, () => undefined);
      await Promise.all(threads.map((t) => t.terminate()));
    }
  } finally {
    clearInterval(ticker);
  }

  const durationS = Math.max(0.001, (Date.now() - startAt) / 1000);
  const merged = mergeSnapshots(
    done.map((d) => d.snapshot),
    durationS,
  );
  const health: WorkerHealth[] = done.sort((a, b) => a.workerIndex - b.workerIndex).map((d) => d.health);
  const warnings: string[] = [];
  if (done.length < workerCount)
    warnings.push(`${workerCount - done.length} worker(s) did not report: numbers are partial`);
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
  const funnel = merged.flows.funnel;
  if (opts.scenario !== 'ping' && funnel.started > 0 && funnel.issued === 0) {
    warnings.push(
      "no flow got a queue token: is POST /api/users/:userId/token served by the target? (see the 'token' row)",
    );
  }
  if (merged.flows.funnel.dropped > 0) {
    warnings.push(`${merged.flows.funnel.dropped} flow(s) were dropped at the VU cap (--max-vus)`);
  }
  if (scraper && scraper.failures > 0) warnings.push(`${scraper.failures} server-metrics scrape(s) failed`);
  const cores = availableParallelism();
  const cpuPercentOfOneCore = Math.round(health.reduce((sum, h) => sum + h.cpuPercent, 0) * 10) / 10;
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
    timeline: timeline.points(),
    generator: {
      cpuPercentOfOneCore,
      cores,
      workers: health,
      saturated: busy.length > 0,
      warnings,
    },
    thresholds: [],
  };
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
