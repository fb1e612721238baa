import {
  type EtaAccuracy,
  type EtaIntervalAccuracy,
  etaAccuracy,
  etaIntervalAccuracy,
  type FlowMetricsSnapshot,
  percentileOf,
} from './flow-metrics.ts';
import type { TimelinePoint } from './timeline-point.ts';
import type { OnsalePlan } from './worker-plan.ts';

/** The default line's gauge of users in line, scraped each second; the runner's own count when it is absent. */
export const WAITING_SERIES = 'ticketrush_queue_waiting';

/**
 * The server's series of the line the crowd joined: with --sale-opens-in the sale's own (its pre-queue is
 * counted among its waiting), else the default line's. The default line's stay flat during a sale.
 */
export function saleSeries(plan: OnsalePlan): { waiting: string; admittedTotal?: string; sold?: string } {
  if (!plan.sale) return { waiting: WAITING_SERIES };
  const label = `{sale="${plan.sale.saleId}"}`;
  return {
    waiting: `ticketrush_sale_waiting${label}`,
    admittedTotal: `ticketrush_sale_admitted_total${label}`,
    sold: `ticketrush_sale_sold${label}`,
  };
}
const SERVER_CPU_SERIES = 'rate(process_cpu_seconds_total)';

/** Polls per second over the seconds whose crowd in line was near one size (within a factor √10). */
export interface PollsAtCrowd {
  /** The crowd size the row stands for: 100, 1,000, 10,000... */
  waiting: number;
  seconds: number;
  meanWaiting: number;
  pollsPerSecond: number;
  /** Polls per second per waiting user: flat means linear growth, falling means sub-linear. */
  pollsPerUserSecond: number;
}

/** ETA accuracy of the users who joined within one stretch of the run. */
export interface EtaByJoin {
  fromS: number;
  toS: number;
  samples: number;
  meanPosition: number;
  meanToldS: number;
  meanWaitedS: number;
  signedP50: number;
  absP90: number;
  /** The same with admission interval-censored (see OnsaleResult.etaInterval). */
  intervalSignedP50?: number;
  intervalAbsP90?: number;
}

export type EtaSampleRow = [number, number, number, number, number?, number?, number?];

/** At most this many per-user ETA samples are kept in the result (evenly spread over the admitted). */
const MAX_ETA_SAMPLES = 5000;
const ETA_JOIN_BUCKETS = 10;
const LONG_WAIT_S = 5;

export interface OnsaleSecond {
  second: number;
  polls: number;
  waiting: number;
  purchases: number;
}

export interface OnsaleResult {
  plan: OnsalePlan & { saleSeats: number };
  /** Admission placed midway between the last "waiting" answer and the first "admitted" one (for comparison). */
  eta: EtaAccuracy;
  /**
   * The headline: admission is only known to lie between those two answers, so the error is the told ETA's
   * distance to that interval (0 inside), relative to its midpoint; `widthP50S` is the interval's median width.
   */
  etaInterval?: EtaIntervalAccuracy;
  /**
   * The same over users who waited at least LONG_WAIT_S: an ETA is whole seconds and admission is seen only
   * at polls a second or more apart, so sub-second waits cannot be within 20 % whatever the forecast.
   */
  etaLongWaits: EtaAccuracy & { minWaitS: number };
  /** The interval-censored figures over those same users. */
  etaLongWaitsInterval?: EtaIntervalAccuracy;
  /** The ETA's error by join time: where in the spike it misses. */
  etaByJoin: EtaByJoin[];
  /**
   * Per admitted user (a spread sample): [joined s, place told, ETA told s, waited s (midpoint), waited min s,
   * waited max s, told at s].
   */
  etaSamples: EtaSampleRow[];
  /** Waiters a sale answered SOLD_OUT or CLOSED (no seat for them), and how many had been told an ETA. */
  endedInLine: number;
  endedInLineTold: number;
  /**
   * ETAs withheld (null: ESTIMATING, STALLED, beyondSeats): users admitted without ever being told one, and users told one
   * only after their first answers in line, with how long that took (s). Absent from results of older runners.
   */
  etaWithheld?: { admittedUntold: number; toldLate: number; toldLateP50S: number; toldLateP90S: number };
  /** With --sale-opens-in: the sale created and when it opened, s from the start. */
  sale?: { saleId: number; opensAtS: number };
  purchases: { total: number; perSecondMean: number; perSecondPeak: number; firstS: number; lastS: number };
  /**
   * Seconds from the start until the sale sold out; null: never. `soldOutSource` says how it was seen: the
   * server's ticketrush_sale_sold reaching the sale's seats, else the first SOLD_OUT answer a fan got, else
   * every sale schedule found without a free seat (held seats count as taken there).
   */
  soldOutAtS: number | null;
  soldOutSource?: 'server-sold' | 'sold-out-answer' | 'schedules-found-full';
  schedulesFoundSoldOut: number;
  turnedAway: number;
  /** Flows the runner ended as aborted, by step and answer (e.g. 'poll 401 TOKEN_EXPIRED', 'run halted'). */
  abortedBy?: Record<string, number>;
  /** Requests fans made again after a 503 or 429 with Retry-After (the refusals count as failures). */
  retried: number;
  waitingSource: 'server' | 'runner';
  pollsByCrowd: PollsAtCrowd[];
  perSecond: OnsaleSecond[];
  generator: {
    peakVus: number;
    /** Virtual users alive when every user had joined: live memory is measured then, after a full GC. */
    liveVus: number;
    /** Growth of live heap (all workers) and of the process RSS from before the first user to then. */
    heapDeltaBytes: number;
    rssDeltaBytes: number;
    heapPerVuBytes: number;
    rssPerVuBytes: number;
    /** The process's highest RSS during the run (runner, workers and their buffers). */
    rssPeakBytes: number;
    /** The server's CPU from its process_cpu_seconds_total, % of one core (embedded or scraped). */
    serverCpuPercentOfOneCore: number | null;
    /** The generator's part of the CPU the generator and the server used together. */
    generatorCpuShare: number | null;
  };
}

function mergeCounts(parts: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of parts) for (const [k, n] of Object.entries(part)) out[k] = (out[k] ?? 0) + n;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

const sumAt = (series: number[][], i: number) => series.reduce((sum, s) => sum + (s[i] ?? 0), 0);

/** Merges the workers' on-sale measurements with the run's timeline (for the server's own gauges). */
export function summarizeOnsale(
  plan: OnsalePlan,
  snapshots: FlowMetricsSnapshot[],
  timeline: TimelinePoint[],
  startAtEpochMs: number,
  generatorCpuPercent: number,
): OnsaleResult {
  const length = Math.max(
    timeline.length,
    ...snapshots.flatMap((s) => [s.polls.length, s.waiting.length, s.purchases.length]),
  );
  const series = saleSeries(plan);
  const serverWaiting = timeline.some((p) => p.server?.[series.waiting] !== undefined);
  const perSecond: OnsaleSecond[] = [];
  for (let second = 0; second < length; second++) {
    const server = timeline[second]?.server?.[series.waiting];
    perSecond.push({
      second,
      polls: sumAt(
        snapshots.map((s) => s.polls),
        second,
      ),
      waiting: serverWaiting
        ? (server ?? 0)
        : sumAt(
            snapshots.map((s) => s.waiting),
            second,
          ),
      purchases: sumAt(
        snapshots.map((s) => s.purchases),
        second,
      ),
    });
  }
  const soldOut = new Map<number, number>();
  for (const snap of snapshots)
    for (const [id, at] of Object.entries(snap.soldOut))
      soldOut.set(Number(id), Math.min(at, soldOut.get(Number(id)) ?? at));
  const saleSeats = plan.saleSchedules * plan.seatsPerSchedule;
  const soldOutAt = soldOutOf(snapshots, soldOut, plan, timeline, series.sold, saleSeats, startAtEpochMs);
  const serverCpu = serverCpuOf(timeline);
  const peakVus = snapshots.reduce((sum, s) => sum + s.peakVus, 0);
  const liveVus = snapshots.reduce((sum, s) => sum + s.memory.liveVus, 0);
  const heapDelta = snapshots.reduce(
    (sum, s) => sum + Math.max(0, s.memory.heapLiveBytes - s.memory.heapBaseBytes),
    0,
  );
  // Worker threads share one process: its RSS from the lowest start to the highest live reading.
  const rssDelta = snapshots.length
    ? Math.max(
        0,
        Math.max(...snapshots.map((s) => s.memory.rssLiveBytes)) -
          Math.min(...snapshots.map((s) => s.memory.rssBaseBytes)),
      )
    : 0;
  const rssPeak = snapshots.length ? Math.max(...snapshots.map((s) => s.memory.rssPeakBytes)) : 0;
  const told = snapshots.flatMap((s) => s.etaToldS);
  const waited = snapshots.flatMap((s) => s.waitedS);
  const lo = snapshots.flatMap((s) => s.waitedMinS);
  const hi = snapshots.flatMap((s) => s.waitedMaxS);
  const joined = snapshots.flatMap((s) => s.etaJoinS);
  const places = snapshots.flatMap((s) => s.etaPosition);
  const toldAt = snapshots.flatMap((s) => s.etaToldAtS);
  const long = (xs: number[]) => xs.filter((_, i) => waited[i] >= LONG_WAIT_S);
  const eta = { told, waited, lo, hi };
  return {
    plan: { ...plan, saleSeats },
    eta: etaAccuracy(told, waited),
    etaInterval: etaIntervalAccuracy(told, lo, hi),
    etaLongWaitsInterval: etaIntervalAccuracy(long(told), long(lo), long(hi)),
    etaLongWaits: {
      ...etaAccuracy(
        told.filter((_, i) => waited[i] >= LONG_WAIT_S),
        waited.filter((w) => w >= LONG_WAIT_S),
      ),
      minWaitS: LONG_WAIT_S,
    },
    etaByJoin: etaByJoin(joined, places, eta),
    etaSamples: etaSamplesOf(joined, places, toldAt, eta),
    endedInLine: snapshots.reduce((sum, s) => sum + s.endedInLine, 0),
    endedInLineTold: snapshots.reduce((sum, s) => sum + s.endedInLineTold, 0),
    etaWithheld: etaWithheldOf(snapshots),
    ...(plan.sale
      ? {
          sale: {
            saleId: plan.sale.saleId,
            opensAtS: Math.round((plan.sale.opensAtEpochMs - startAtEpochMs) / 100) / 10,
          },
        }
      : {}),
    purchases: purchasesOf(perSecond),
    soldOutAtS: soldOutAt?.atS ?? null,
    ...(soldOutAt ? { soldOutSource: soldOutAt.source } : {}),
    schedulesFoundSoldOut: soldOut.size,
    turnedAway: snapshots.reduce((sum, s) => sum + s.turnedAway, 0),
    abortedBy: mergeCounts(snapshots.map((s) => s.abortedBy ?? {})),
    retried: snapshots.reduce((sum, s) => sum + s.retried, 0),
    waitingSource: serverWaiting ? 'server' : 'runner',
    pollsByCrowd: pollsByCrowd(perSecond),
    perSecond,
    generator: {
      peakVus,
      liveVus,
      heapDeltaBytes: heapDelta,
      rssDeltaBytes: rssDelta,
      heapPerVuBytes: liveVus ? Math.round(heapDelta / liveVus) : 0,
      rssPerVuBytes: liveVus ? Math.round(rssDelta / liveVus) : 0,
      rssPeakBytes: rssPeak,
      serverCpuPercentOfOneCore: serverCpu,
      generatorCpuShare:
        serverCpu === null || generatorCpuPercent + serverCpu <= 0
          ? null
          : Math.round((generatorCpuPercent / (generatorCpuPercent + serverCpu)) * 1000) / 1000,
    },
  };
}

/** When the sale sold out, by the best evidence at hand (see OnsaleResult.soldOutSource). */
function soldOutOf(
  snapshots: FlowMetricsSnapshot[],
  schedulesFull: Map<number, number>,
  plan: OnsalePlan,
  timeline: TimelinePoint[],
  soldSeries: string | undefined,
  saleSeats: number,
  startAtEpochMs: number,
): { atS: number; source: NonNullable<OnsaleResult['soldOutSource']> } | undefined {
  const sold = soldSeries ? timeline.find((p) => (p.server?.[soldSeries] ?? 0) >= saleSeats) : undefined;
  if (sold) return { atS: sold.second, source: 'server-sold' };
  const answers = snapshots.flatMap((s) => (s.saleSoldOutAt ? [s.saleSoldOutAt] : []));
  const s = (epochMs: number) => Math.round((epochMs - startAtEpochMs) / 100) / 10;
  if (answers.length) return { atS: s(Math.min(...answers)), source: 'sold-out-answer' };
  if (schedulesFull.size >= plan.saleSchedules)
    return { atS: s(Math.max(...schedulesFull.values())), source: 'schedules-found-full' };
  return undefined;
}

/** Per admitted user: told ETA, midpoint wait, and the wait's bounds (s). */
interface EtaColumns {
  told: number[];
  waited: number[];
  lo: number[];
  hi: number[];
}

function etaByJoin(joined: number[], places: number[], eta: EtaColumns): EtaByJoin[] {
  const { told, waited, lo, hi } = eta;
  if (!joined.length) return [];
  const last = Math.max(...joined);
  const width = Math.max(1, Math.ceil(last / ETA_JOIN_BUCKETS));
  const rows: EtaByJoin[] = [];
  for (let from = 0; from <= last; from += width) {
    const idx = joined.flatMap((j, i) => (j >= from && j < from + width ? [i] : []));
    if (!idx.length) continue;
    const acc = etaAccuracy(
      idx.map((i) => told[i]),
      idx.map((i) => waited[i]),
    );
    const inInterval = etaIntervalAccuracy(
      idx.map((i) => told[i]),
      idx.map((i) => lo[i]),
      idx.map((i) => hi[i]),
    );
    const mean = (xs: number[]) =>
      Math.round((idx.reduce((sum, i) => sum + xs[i], 0) / idx.length) * 10) / 10;
    rows.push({
      fromS: from,
      toS: from + width,
      samples: idx.length,
      meanPosition: mean(places),
      meanToldS: mean(told),
      meanWaitedS: mean(waited),
      signedP50: acc.signedP50,
      absP90: acc.absP90,
      intervalSignedP50: inInterval.signedP50,
      intervalAbsP90: inInterval.absP90,
    });
  }
  return rows;
}

function etaWithheldOf(snapshots: FlowMetricsSnapshot[]): NonNullable<OnsaleResult['etaWithheld']> {
  const late = snapshots.flatMap((s) => s.toldLateS ?? []).sort((a, b) => a - b);
  return {
    admittedUntold: snapshots.reduce((sum, s) => sum + (s.admittedUntold ?? 0), 0),
    toldLate: late.length,
    toldLateP50S: percentileOf(late, 50),
    toldLateP90S: percentileOf(late, 90),
  };
}

function etaSamplesOf(joined: number[], places: number[], toldAt: number[], eta: EtaColumns): EtaSampleRow[] {
  const { told, waited, lo, hi } = eta;
  const r = (x: number) => Math.round(x * 100) / 100;
  const stride = Math.max(1, joined.length / MAX_ETA_SAMPLES);
  const out: EtaSampleRow[] = [];
  for (let k = 0; Math.floor(k) < joined.length; k += stride) {
    const i = Math.floor(k);
    out.push([joined[i], places[i], told[i], Math.round(waited[i] * 10) / 10, r(lo[i]), r(hi[i]), toldAt[i]]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

function purchasesOf(perSecond: OnsaleSecond[]): OnsaleResult['purchases'] {
  const selling = perSecond.filter((p) => p.purchases > 0);
  const total = selling.reduce((sum, p) => sum + p.purchases, 0);
  if (!selling.length) return { total, perSecondMean: 0, perSecondPeak: 0, firstS: 0, lastS: 0 };
  const firstS = selling[0].second;
  const lastS = selling.at(-1)?.second ?? firstS;
  return {
    total,
    perSecondMean: Math.round((total / (lastS - firstS + 1)) * 10) / 10,
    perSecondPeak: Math.max(...selling.map((p) => p.purchases)),
    firstS,
    lastS,
  };
}

/** Seconds grouped by crowd size on a log scale: rows for 100, 1k, 10k, 100k... waiting users. */
export function pollsByCrowd(perSecond: OnsaleSecond[]): PollsAtCrowd[] {
  const rows = new Map<number, { seconds: number; waiting: number; polls: number }>();
  for (const p of perSecond) {
    if (p.waiting < 1) continue;
    const decade = 10 ** Math.round(Math.log10(p.waiting));
    const row = rows.get(decade) ?? { seconds: 0, waiting: 0, polls: 0 };
    row.seconds++;
    row.waiting += p.waiting;
    row.polls += p.polls;
    rows.set(decade, row);
  }
  return [...rows]
    .sort(([a], [b]) => a - b)
    .map(([waiting, r]) => ({
      waiting,
      seconds: r.seconds,
      meanWaiting: Math.round(r.waiting / r.seconds),
      pollsPerSecond: Math.round((r.polls / r.seconds) * 10) / 10,
      pollsPerUserSecond: Math.round((r.polls / r.waiting) * 10_000) / 10_000,
    }));
}

/** Mean CPU of the server over the seconds it was scraped, % of one core; null without the series. */
function serverCpuOf(timeline: TimelinePoint[]): number | null {
  const values = timeline
    .map((p) => p.server?.[SERVER_CPU_SERIES])
    .filter((v): v is number => typeof v === 'number');
  if (!values.length) return null;
  return Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 1000) / 10;
}
