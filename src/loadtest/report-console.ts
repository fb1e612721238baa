import { onsaleConsole } from './report-onsale.ts';
import type { CutShort, EndpointResult, LoadResult, ThresholdResult } from './result.ts';

/** Lays out rows as a fixed-width table; numbers right-aligned, the first and `textColumn` left-aligned. */
export function table(header: string[], rows: string[][], textColumn = -1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === textColumn ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const fmtMs = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
/** '850 ms', '12.3 s': a duration with its unit. */
const duration = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${fmtMs(ms)} ms`);
const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 && x > 0 ? 3 : 2)}%`;

const countsText = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');

const businessText = (e: EndpointResult) => countsText(e.business);

/** One line per endpoint that failed: what its failures were ('503 OVERLOADED 3, timeout 1'). */
export function failureKindLines(endpoints: EndpointResult[]): string[] {
  const failed = endpoints.filter((e) => e.failures > 0 && e.failureKinds);
  if (!failed.length) return [];
  return ['failures by kind:', ...failed.map((e) => `  ${e.route}: ${countsText(e.failureKinds ?? {})}`), ''];
}

export function endpointRows(endpoints: EndpointResult[]): string[][] {
  return endpoints.map((e) => [
    e.route,
    String(e.count),
    e.tps.toFixed(1),
    fmtMs(e.avgMs),
    fmtMs(e.p50Ms),
    fmtMs(e.p90Ms),
    fmtMs(e.p95Ms),
    fmtMs(e.p99Ms),
    fmtMs(e.p999Ms),
    fmtMs(e.maxMs),
    pct(e.failureRate),
  ]);
}

const LATENCY_HEADER = [
  'endpoint',
  'count',
  'TPS',
  'avg',
  'p50',
  'p90',
  'p95',
  'p99',
  'p99.9',
  'max',
  'failed',
];
const OUTCOME_HEADER = [
  'endpoint',
  '2xx',
  '401',
  '403',
  '404',
  '409',
  '429',
  '4xx',
  '5xx',
  'timeout',
  'conn',
  'business (not failures)',
];

const HALT_TEXT: Record<CutShort['reason'], string> = {
  'duration-cap': 'the --duration cap',
  'request-cap': 'the --max-requests cap',
  'graceful-stop': 'the --graceful-stop limit',
  'hard-limit': "the runner's hard limit (workers past their cap)",
};

/** What a cut-short run says about its figures, at the top of every report. */
export function cutShortText(c: CutShort): string {
  return (
    `RUN CUT SHORT by ${HALT_TEXT[c.reason]}${c.atS === null ? '' : ` at ${c.atS} s`}: every figure covers only what was measured until then` +
    (c.requestsCut ? `; ${c.requestsCut} request(s) in flight were ended unanswered (not counted)` : '') +
    (c.workersMissing ? `; ${c.workersMissing} worker(s) never reported, their requests are missing` : '')
  );
}

/** The console report: what ran, latency and outcomes per endpoint, the funnel, the generator, thresholds. */
export function renderConsole(result: LoadResult): string {
  const c = result.config;
  return [
    `ticketrush loadtest: ${c.scenario} / ${c.executor} / profile ${c.profileName} against ${c.target}` +
      `${c.embedded ? ' (embedded)' : ''}, ${result.durationS.toFixed(1)} s, ${c.workers} worker(s)`,
    ...(result.cutShort ? [cutShortText(result.cutShort)] : []),
    '',
    table(LATENCY_HEADER, [...endpointRows(result.endpoints), ...endpointRows([result.totals])]),
    '',
    'latency in ms; measured from the intended start of each request',
    '',
    outcomeTable(result),
    '',
    ...failureKindLines(result.endpoints),
    ...flowLines(result.flows),
    ...onsaleConsole(result, table),
    ...generatorLines(result.generator),
    ...thresholdLines(result.thresholds),
  ].join('\n');
}

function outcomeTable(result: LoadResult): string {
  const rows = [...result.endpoints, result.totals].map((e) => [
    e.route,
    ...[e.outcomes.s2xx, e.outcomes.s401, e.outcomes.s403, e.outcomes.s404, e.outcomes.s409, e.outcomes.s429]
      .concat([e.outcomes.s4xx, e.outcomes.s5xx, e.outcomes.timeout, e.outcomes.connError])
      .map(String),
    businessText(e),
  ]);
  return table(OUTCOME_HEADER, rows, OUTCOME_HEADER.length - 1);
}

function flowLines(f: LoadResult['flows']): string[] {
  return [
    `flows: started ${f.funnel.started} -> issued ${f.funnel.issued} -> admitted ${f.funnel.admitted} -> held ${f.funnel.held} -> paid ${f.funnel.paid}; ` +
      `completed ${f.funnel.completed} (${f.flowsPerSecond}/s), dropped ${f.funnel.dropped}, aborted ${f.funnel.aborted}`,
    `token issue -> admission: p50 ${duration(f.admission.p50Ms)}, p95 ${duration(f.admission.p95Ms)}, max ${duration(f.admission.maxMs)} (${f.admission.count} admitted)`,
  ];
}

function generatorLines(g: LoadResult['generator']): string[] {
  const workers = g.workers
    .map(
      (w, i) =>
        `#${i} cpu ${w.cpuPercent}% elu ${(w.eventLoopUtilization * 100).toFixed(0)}% lag p99 ${w.lagP99Ms} ms`,
    )
    .join('; ');
  return [
    `generator: ${g.cpuPercentOfOneCore}% of one core over ${g.cores} core(s); ${workers}`,
    ...g.warnings.map((w) => `WARNING: ${w}`),
  ];
}

function thresholdLines(thresholds: ThresholdResult[]): string[] {
  if (!thresholds.length) return [];
  const actual = (t: ThresholdResult) => (Number.isFinite(t.actual) ? +t.actual.toFixed(4) : 'n/a');
  return ['', ...thresholds.map((t) => `${t.ok ? 'PASS' : 'FAIL'} ${t.expression} (actual ${actual(t)})`)];
}
