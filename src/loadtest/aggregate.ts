import { encodeHistogram, type Histogram, mergeEncoded, newHistogram, summarize } from './histogram.ts';
import { emptyOutcomes, type OutcomeCounts } from './outcomes.ts';
import {
  emptyFunnel,
  type Funnel,
  type RecorderSnapshot,
  type SecondSnapshot,
  type SecondStats,
} from './recorder.ts';
import type { EndpointResult, TimelinePoint } from './result.ts';

type SecondTotals = SecondStats;

/** Adds worker seconds into one timeline; per-second percentiles come from merged histograms. */
export class Timeline {
  private readonly seconds = new Map<number, SecondTotals>();
  private readonly server = new Map<number, Record<string, number>>();

  add(parts: SecondSnapshot[]) {
    for (const part of parts) {
      let t = this.seconds.get(part.second);
      if (!t) {
        t = { histogram: newHistogram(), requests: 0, failures: 0, business: 0, flowsCompleted: 0, vus: 0 };
        this.seconds.set(part.second, t);
      }
      if (part.histogram) {
        const h = mergeEncoded([part.histogram]);
        t.histogram.add(h);
        h.destroy();
      }
      t.requests += part.requests;
      t.failures += part.failures;
      t.business += part.business;
      t.flowsCompleted += part.flowsCompleted;
      t.vus += part.vus;
    }
  }

  addServer(second: number, values: Record<string, number>) {
    this.server.set(second, values);
  }

  /** The last second every worker has reported, or undefined. */
  point(second: number): TimelinePoint | undefined {
    const t = this.seconds.get(second);
    if (!t) return undefined;
    const server = this.server.get(second);
    return {
      second,
      vus: t.vus,
      rps: t.requests,
      p95Ms: t.histogram.totalCount ? t.histogram.getValueAtPercentile(95) / 1000 : 0,
      p99Ms: t.histogram.totalCount ? t.histogram.getValueAtPercentile(99) / 1000 : 0,
      failures: t.failures,
      business: t.business,
      flowsCompleted: t.flowsCompleted,
      ...(server ? { server } : {}),
    };
  }

  points(): TimelinePoint[] {
    const last = Math.max(-1, ...this.seconds.keys(), ...this.server.keys());
    const out: TimelinePoint[] = [];
    for (let s = 0; s <= last; s++) {
      out.push(
        this.point(s) ?? {
          second: s,
          vus: 0,
          rps: 0,
          p95Ms: 0,
          p99Ms: 0,
          failures: 0,
          business: 0,
          flowsCompleted: 0,
          ...(this.server.has(s) ? { server: this.server.get(s) } : {}),
        },
      );
    }
    return out;
  }
}

function endpointOf(
  route: string,
  histogram: Histogram,
  outcomes: OutcomeCounts,
  business: Record<string, number>,
  failures: number,
  failureKinds: Record<string, number>,
  durationS: number,
): EndpointResult {
  const summary = summarize(histogram);
  return {
    route,
    ...summary,
    tps: durationS > 0 ? Math.round((summary.count / durationS) * 100) / 100 : 0,
    outcomes,
    business,
    failures,
    failureKinds,
    failureRate: summary.count ? failures / summary.count : 0,
    histogram: encodeHistogram(histogram),
  };
}

function addCounts(into: object, from: object) {
  const target = into as Record<string, number>;
  for (const [key, value] of Object.entries(from as Record<string, number>)) {
    target[key] = (target[key] ?? 0) + value;
  }
}

/** Merges worker snapshots into per-endpoint results, totals, funnel and admission times. */
export function mergeSnapshots(snapshots: RecorderSnapshot[], durationS: number) {
  const byRoute = new Map<
    string,
    {
      encoded: string[];
      outcomes: OutcomeCounts;
      business: Record<string, number>;
      failures: number;
      failureKinds: Record<string, number>;
    }
  >();
  const funnel: Funnel = emptyFunnel();
  for (const snap of snapshots) {
    addCounts(funnel, snap.funnel);
    for (const r of snap.routes) {
      let entry = byRoute.get(r.route);
      if (!entry) {
        entry = { encoded: [], outcomes: emptyOutcomes(), business: {}, failures: 0, failureKinds: {} };
        byRoute.set(r.route, entry);
      }
      entry.encoded.push(r.histogram);
      addCounts(entry.outcomes, r.outcomes);
      addCounts(entry.business, r.business);
      entry.failures += r.failures;
      addCounts(entry.failureKinds, r.failureKinds);
    }
  }
  const all = newHistogram();
  const totalOutcomes = emptyOutcomes();
  const totalBusiness: Record<string, number> = {};
  const totalFailureKinds: Record<string, number> = {};
  let totalFailures = 0;
  const endpoints: EndpointResult[] = [];
  for (const [route, entry] of [...byRoute].sort(([a], [b]) => a.localeCompare(b))) {
    const histogram = mergeEncoded(entry.encoded);
    all.add(histogram);
    endpoints.push(
      endpointOf(
        route,
        histogram,
        entry.outcomes,
        entry.business,
        entry.failures,
        entry.failureKinds,
        durationS,
      ),
    );
    histogram.destroy();
    addCounts(totalOutcomes, entry.outcomes);
    addCounts(totalBusiness, entry.business);
    addCounts(totalFailureKinds, entry.failureKinds);
    totalFailures += entry.failures;
  }
  const totals = endpointOf(
    'all',
    all,
    totalOutcomes,
    totalBusiness,
    totalFailures,
    totalFailureKinds,
    durationS,
  );
  all.destroy();
  const admissionHistogram = mergeEncoded(snapshots.map((s) => s.admission));
  const a = summarize(admissionHistogram);
  admissionHistogram.destroy();
  return {
    endpoints,
    totals,
    flows: {
      funnel,
      admission: { count: a.count, p50Ms: a.p50Ms, p95Ms: a.p95Ms, maxMs: a.maxMs },
      flowsPerSecond: durationS > 0 ? Math.round((funnel.completed / durationS) * 100) / 100 : 0,
    },
  };
}
