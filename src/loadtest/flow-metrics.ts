import { memoryUsage } from 'node:process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full collection on demand, so memory per virtual user counts live objects, not garbage. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** What one worker measured of an on-sale run's flows; plain data, so it crosses the worker boundary. */
export interface FlowMetricsSnapshot {
  /**
   * Per admitted user who waited: the first etaSeconds told, and the wait it stood for (s) as an interval:
   * from the told answer's receipt to the last "waiting" answer's (min) and to the first "admitted" one's
   * (max); admission happened in between. `waitedS` is the interval's midpoint.
   */
  etaToldS: number[];
  waitedS: number[];
  waitedMinS: number[];
  waitedMaxS: number[];
  /** Beside each sample: when the user joined (s from the start) and the place they were told it at. */
  etaJoinS: number[];
  /** When the first ETA was told (s from the run's start). */
  etaToldAtS: number[];
  etaPosition: number[];
  /** Users a sale told SOLD_OUT or CLOSED while they waited, and how many of them had been told an ETA. */
  endedInLine: number;
  endedInLineTold: number;
  /** Users admitted after waiting in line without ever being told an ETA (every answer said null). */
  admittedUntold: number;
  /** Users whose first answers in line carried no ETA: how long (s) until one did. */
  toldLateS: number[];
  /** Per second of the run: queue requests (issue + poll), most VUs waiting, purchases. */
  polls: number[];
  waiting: number[];
  purchases: number[];
  /** Sale schedule id -> epoch ms this worker first found it without a free seat. */
  soldOut: Record<number, number>;
  /** First time (epoch ms) a fan was told the sale is sold out (status SOLD_OUT or SALE_SOLD_OUT); 0: never. */
  saleSoldOutAt: number;
  /** Flows the runner ended as aborted, by step and answer (e.g. 'poll 401 TOKEN_EXPIRED'). */
  abortedBy: Record<string, number>;
  /** Flows that ended because every sale schedule they looked at was sold out. */
  turnedAway: number;
  /** Requests a fan made again after a 503 or 429 with Retry-After. */
  retried: number;
  memory: {
    /** After a full collection, before any user joined. */
    heapBaseBytes: number;
    rssBaseBytes: number;
    heapPeakBytes: number;
    rssPeakBytes: number;
    /** After a full collection once every user has joined, with `liveVus` alive. */
    heapLiveBytes: number;
    rssLiveBytes: number;
    liveVus: number;
  };
  peakVus: number;
}

const bump = (series: number[], index: number, by = 1) => {
  for (let i = series.length; i <= index; i++) series.push(0);
  series[index] += by;
};

/** One worker's on-sale measurements: ETA accuracy, polls and waiting users per second, sell-out, memory. */
export class FlowMetrics {
  private readonly startedAt: number;
  private readonly snap: FlowMetricsSnapshot;
  /** VUs between token issue and admission, now. */
  waitingNow = 0;
  /** VUs alive, now. */
  vusNow = 0;

  constructor(startedAtEpochMs: number) {
    this.startedAt = startedAtEpochMs;
    collectGarbage();
    const m = memoryUsage();
    this.snap = {
      etaToldS: [],
      waitedS: [],
      waitedMinS: [],
      waitedMaxS: [],
      etaJoinS: [],
      etaToldAtS: [],
      etaPosition: [],
      endedInLine: 0,
      endedInLineTold: 0,
      admittedUntold: 0,
      toldLateS: [],
      polls: [],
      waiting: [],
      purchases: [],
      soldOut: {},
      saleSoldOutAt: 0,
      abortedBy: {},
      turnedAway: 0,
      retried: 0,
      memory: {
        heapBaseBytes: m.heapUsed,
        heapPeakBytes: m.heapUsed,
        rssBaseBytes: m.rss,
        rssPeakBytes: m.rss,
        heapLiveBytes: m.heapUsed,
        rssLiveBytes: m.rss,
        liveVus: 0,
      },
      peakVus: 0,
    };
  }

  private second(epochMs: number): number {
    return Math.max(0, Math.floor((epochMs - this.startedAt) / 1000));
  }

  queueRequest(epochMs: number): void {
    bump(this.snap.polls, this.second(epochMs));
  }

  etaSample(
    toldS: number,
    waitedMinS: number,
    waitedMaxS: number,
    joinedAtEpochMs: number,
    position: number,
    toldAtEpochMs: number,
  ): void {
    this.snap.etaToldS.push(toldS);
    this.snap.waitedS.push((waitedMinS + waitedMaxS) / 2);
    this.snap.waitedMinS.push(waitedMinS);
    this.snap.waitedMaxS.push(waitedMaxS);
    this.snap.etaJoinS.push(Math.round((joinedAtEpochMs - this.startedAt) / 100) / 10);
    this.snap.etaPosition.push(position);
    this.snap.etaToldAtS.push(Math.round((toldAtEpochMs - this.startedAt) / 100) / 10);
  }

  /** A waiter the sale turned away (SOLD_OUT, CLOSED); `told`: it had been told an ETA. */
  endedInLine(told: boolean): void {
    this.snap.endedInLine++;
    if (told) this.snap.endedInLineTold++;
  }

  /** A waiter admitted without having been told an ETA. */
  admittedUntold(): void {
    this.snap.admittedUntold++;
  }

  /** A waiter first told an ETA this long after its first answer in line. */
  toldLate(afterS: number): void {
    this.snap.toldLateS.push(Math.round(afterS * 10) / 10);
  }

  purchase(epochMs: number): void {
    bump(this.snap.purchases, this.second(epochMs));
  }

  soldOut(scheduleId: number, epochMs: number): void {
    this.snap.soldOut[scheduleId] ??= epochMs;
  }

  /** A fan told the sale is sold out. */
  saleSoldOut(epochMs: number): void {
    if (!this.snap.saleSoldOutAt || epochMs < this.snap.saleSoldOutAt) this.snap.saleSoldOutAt = epochMs;
  }

  /** A flow ended as aborted: why, as 'step status code'. */
  aborted(why: string): void {
    this.snap.abortedBy[why] = (this.snap.abortedBy[why] ?? 0) + 1;
  }

  turnedAway(): void {
    this.snap.turnedAway++;
  }

  retried(): void {
    this.snap.retried++;
  }

  /** Once a second: the waiting VUs of this second, the VU peak, and memory. */
  sample(epochMs: number): void {
    const s = this.second(epochMs);
    bump(this.snap.waiting, s, 0);
    this.snap.waiting[s] = Math.max(this.snap.waiting[s], this.waitingNow);
    this.snap.peakVus = Math.max(this.snap.peakVus, this.vusNow);
    const m = memoryUsage();
    const mem = this.snap.memory;
    mem.heapPeakBytes = Math.max(mem.heapPeakBytes, m.heapUsed);
    mem.rssPeakBytes = Math.max(mem.rssPeakBytes, m.rss);
  }

  /** Once every user has joined: live memory after one full collection (a pause of the generator, once). */
  measureLive(): void {
    collectGarbage();
    const m = memoryUsage();
    const mem = this.snap.memory;
    mem.heapLiveBytes = m.heapUsed;
    mem.rssLiveBytes = m.rss;
    mem.liveVus = this.vusNow;
  }

  snapshot(): FlowMetricsSnapshot {
    return this.snap;
  }
}

/** How far the first ETA a user was told is from the wait that followed, relative to that wait. */
export interface EtaAccuracy {
  /** Users who were told an ETA and waited (admitted at once: no sample). */
  samples: number;
  /** |told - waited| / waited. */
  absP50: number;
  absP90: number;
  absP99: number;
  /** (told - waited) / waited: negative when users waited longer than told. */
  signedP10: number;
  signedP50: number;
  signedP90: number;
  /** Share of users whose ETA was within 20 % of their wait. */
  within20: number;
  /** The goal: p90 of |error| within 20 %. */
  goalMet: boolean;
}

/** Nearest-rank percentile of sorted values. */
export function percentileOf(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Waits under a second are counted as one: an ETA is a whole number of seconds. */
const MIN_WAIT_S = 1;

/** Relative error of an ETA against a wait placed at the midpoint of what the polls saw. */
export function etaAccuracy(toldS: number[], waitedS: number[]): EtaAccuracy {
  return accuracyOf(toldS.map((told, i) => (told - waitedS[i]) / Math.max(MIN_WAIT_S, waitedS[i])));
}

/** ETA accuracy with admission interval-censored, and how wide the polls left that interval. */
export interface EtaIntervalAccuracy extends EtaAccuracy {
  /** Median of waitedMax - waitedMin (s): the runner's resolution of the admission moment. */
  widthP50S: number;
}

/**
 * Admission is only known to lie in [waitedMin, waitedMax]: the error is the distance from the told ETA to
 * that interval (0 inside it), signed, relative to the interval's midpoint (at least MIN_WAIT_S).
 */
export function etaIntervalAccuracy(
  toldS: number[],
  waitedMinS: number[],
  waitedMaxS: number[],
): EtaIntervalAccuracy {
  const signed = toldS.map((told, i) => {
    const lo = waitedMinS[i];
    const hi = waitedMaxS[i];
    const miss = told < lo ? told - lo : told > hi ? told - hi : 0;
    return miss / Math.max(MIN_WAIT_S, (lo + hi) / 2);
  });
  const widths = waitedMaxS.map((hi, i) => hi - waitedMinS[i]).sort((a, b) => a - b);
  return { ...accuracyOf(signed), widthP50S: Math.round(percentileOf(widths, 50) * 1000) / 1000 };
}

function accuracyOf(signed: number[]): EtaAccuracy {
  const abs = signed.map(Math.abs).sort((a, b) => a - b);
  signed.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const absP90 = round(percentileOf(abs, 90));
  return {
    samples: signed.length,
    absP50: round(percentileOf(abs, 50)),
    absP90,
    absP99: round(percentileOf(abs, 99)),
    signedP10: round(percentileOf(signed, 10)),
    signedP50: round(percentileOf(signed, 50)),
    signedP90: round(percentileOf(signed, 90)),
    within20: signed.length ? round(abs.filter((x) => x <= 0.2).length / abs.length) : 0,
    goalMet: signed.length > 0 && absP90 <= 0.2,
  };
}
