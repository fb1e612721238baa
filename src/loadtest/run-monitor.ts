import { Timeline } from './aggregate.ts';
import { ServerMetricsScraper } from './server-metrics.ts';
import { type Profile, stageIndexAt, totalDurationMs } from './stages.ts';
import type { WorkerMessage } from './worker-plan.ts';

export type WorkerDone = Extract<WorkerMessage, { type: 'done' }>;
export type RunnerMessage = WorkerMessage | { type: 'error'; message: string };

/** The runner's live view of a run: worker seconds into one timeline, server scrapes, the progress line. */
export class RunMonitor {
  readonly timeline = new Timeline();
  readonly done: WorkerDone[] = [];
  readonly scraper: ServerMetricsScraper | undefined;
  private readonly latestVus: number[];
  private readonly reportedSeconds: number[];
  private ticker: NodeJS.Timeout | undefined;
  private readonly profile: Profile;
  private readonly startAt: number;
  private readonly progress: ((line: string) => void) | undefined;

  constructor(opts: {
    profile: Profile;
    startAt: number;
    workerCount: number;
    serverMetricsUrl?: string;
    progress?: (line: string) => void;
  }) {
    this.profile = opts.profile;
    this.startAt = opts.startAt;
    this.progress = opts.progress;
    this.latestVus = new Array<number>(opts.workerCount).fill(0);
    this.reportedSeconds = new Array<number>(opts.workerCount).fill(-1);
    this.scraper = opts.serverMetricsUrl ? new ServerMetricsScraper(opts.serverMetricsUrl) : undefined;
  }

  readonly receive = (message: RunnerMessage): void => {
    if (message.type === 'error') {
      console.error(`loadtest worker failed: ${message.message}`);
      return;
    }
    this.timeline.add(message.seconds);
    const last = message.seconds.at(-1)?.second;
    const index = message.workerIndex;
    if (last !== undefined) this.reportedSeconds[index] = Math.max(this.reportedSeconds[index], last);
    if (message.type === 'tick') this.latestVus[index] = message.vus;
    else this.done.push(message);
  };

  /** Once a second: scrape the server, then print the progress line. */
  start(): void {
    this.ticker = setInterval(async () => {
      const second = Math.floor((Date.now() - this.startAt) / 1000);
      if (second < 0) return;
      if (this.scraper) {
        const values = await this.scraper.scrape();
        if (values) this.timeline.addServer(second, values);
      }
      this.progress?.(this.progressLine(second));
    }, 1000);
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  private progressLine(second: number): string {
    const complete = Math.min(...this.reportedSeconds);
    const point = complete >= 0 ? this.timeline.point(complete) : undefined;
    const stages = this.profile.stages.length;
    const stage = stageIndexAt(this.profile, Date.now() - this.startAt);
    const stageText = stage < stages ? `${stage + 1}/${stages}` : 'ramp-down';
    const vus = this.latestVus.reduce((a, b) => a + b, 0);
    const totalS = Math.round(totalDurationMs(this.profile) / 1000);
    return (
      `[${String(second).padStart(4)}s/${totalS}s] stage ${stageText}  VUs ${vus}  ` +
      `req/s ${point?.rps ?? 0}  p95 ${(point?.p95Ms ?? 0).toFixed(1)} ms  errors ${point?.failures ?? 0}`
    );
  }
}
