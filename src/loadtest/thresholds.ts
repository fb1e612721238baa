import type { EndpointResult, LoadResult } from './result.ts';

/** A parsed `--threshold`: e.g. http_p99<200, failures<0.1%, tps>=400, http_p95{POST /api/reservations}<500ms. */
export interface Threshold {
  expression: string;
  metric: string;
  route: string | undefined;
  op: '<' | '<=' | '>' | '>=';
  value: number;
}

const LATENCY: Record<string, keyof EndpointResult> = {
  http_avg: 'avgMs',
  http_p50: 'p50Ms',
  http_p90: 'p90Ms',
  http_p95: 'p95Ms',
  http_p99: 'p99Ms',
  http_p999: 'p999Ms',
  http_max: 'maxMs',
};
const OTHER = new Set([
  'failures',
  'tps',
  'rps',
  'admission_p50',
  'admission_p95',
  'admission_max',
  'flows_per_s',
]);
export const THRESHOLD_METRICS = [...Object.keys(LATENCY), ...OTHER];

export function parseThreshold(text: string): Threshold {
  const match = /^\s*([a-z_0-9]+)(?:\{([^}]*)\})?\s*(<=|>=|<|>)\s*([\d.]+)\s*(ms|s|%)?\s*$/i.exec(text);
  if (!match) throw new Error(`bad threshold '${text}': expected e.g. 'http_p99<200' or 'failures<0.1%'`);
  const [, rawMetric, route, op, number, unit] = match;
  const metric = rawMetric.toLowerCase();
  if (!(metric in LATENCY) && !OTHER.has(metric)) {
    throw new Error(`unknown threshold metric '${metric}' (one of ${THRESHOLD_METRICS.join(', ')})`);
  }
  let value = Number(number);
  if (!Number.isFinite(value)) throw new Error(`bad threshold value in '${text}'`);
  if (unit === 's') value *= 1000;
  if (metric === 'failures') value = unit === '%' ? value / 100 : value;
  else if (unit === '%') throw new Error(`'%' only applies to failures, in '${text}'`);
  return {
    expression: text.trim(),
    metric,
    route: route?.trim() || undefined,
    op: op as Threshold['op'],
    value,
  };
}

function actualOf(t: Threshold, result: LoadResult): number {
  let subject: EndpointResult | undefined = result.totals;
  if (t.route) subject = result.endpoints.find((e) => e.route === t.route);
  if (!subject || subject.count === 0) return Number.NaN;
  const latency = LATENCY[t.metric];
  if (latency) return subject[latency] as number;
  switch (t.metric) {
    case 'failures':
      return subject.failureRate;
    case 'tps':
    case 'rps':
      return subject.tps;
    case 'admission_p50':
      return result.flows.admission.p50Ms;
    case 'admission_p95':
      return result.flows.admission.p95Ms;
    case 'admission_max':
      return result.flows.admission.maxMs;
    case 'flows_per_s':
      return result.flows.flowsPerSecond;
  }
  return Number.NaN;
}

/** A threshold on a route with no traffic fails: a CI gate must not pass on nothing measured. */
export function evaluateThresholds(thresholds: Threshold[], result: LoadResult) {
  return thresholds.map((t) => {
    const actual = actualOf(t, result);
    let ok = Number.isFinite(actual);
    if (ok) {
      if (t.op === '<') ok = actual < t.value;
      else if (t.op === '<=') ok = actual <= t.value;
      else if (t.op === '>') ok = actual > t.value;
      else ok = actual >= t.value;
    }
    return { expression: t.expression, actual, ok };
  });
}
