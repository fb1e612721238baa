import { fmtMs } from './report-console.ts';
import { type ChartSeries, onsaleHtml } from './report-onsale.ts';
import type { LoadResult, TimelinePoint } from './result.ts';

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

interface Series {
  name: string;
  color: string;
  values: number[];
}

const W = 760;
const H = 180;
const PAD = { left: 56, right: 12, top: 12, bottom: 24 };

/** One line chart as inline SVG: no script, no network. */
function lineChart(title: string, seconds: number[], series: Series[], unit = ''): string {
  const maxY = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const maxX = Math.max(1, seconds.at(-1) ?? 1);
  const x = (t: number) => PAD.left + (t / maxX) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / maxY) * (H - PAD.top - PAD.bottom);
  const lines = series
    .map((s) => {
      const points = s.values.map((v, i) => `${x(seconds[i]).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${points}"><title>${esc(s.name)}</title></polyline>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = maxY * f;
      const label = v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2);
      return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${PAD.left - 4}" y="${y(v) + 4}" text-anchor="end">${label}</text>`;
    })
    .join('');
  const xTicks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<text x="${x(maxX * f)}" y="${H - 6}" text-anchor="middle">${Math.round(maxX * f)}s</text>`)
    .join('');
  const legend = series
    .map((s) => `<span class="key"><i style="background:${s.color}"></i>${esc(s.name)}</span>`)
    .join(' ');
  return `<figure><figcaption>${esc(title)}${unit ? ` <small>(${esc(unit)})</small>` : ''} ${legend}</figcaption><svg viewBox="0 0 ${W} ${H}" width="100%" role="img">${ticks}${xTicks}${lines}</svg></figure>`;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** A chart of series given per second from 0, coloured in order. */
function perSecondChart(title: string, series: ChartSeries[], unit = ''): string {
  const length = Math.max(0, ...series.map((s) => s.values.length));
  const seconds = Array.from({ length }, (_, i) => i);
  return lineChart(
    title,
    seconds,
    series.map((s, i) => ({ ...s, color: COLORS[i % COLORS.length] })),
    unit,
  );
}

function serverCharts(timeline: TimelinePoint[], seconds: number[]): string {
  const names = [...new Set(timeline.flatMap((p) => Object.keys(p.server ?? {})))];
  if (!names.length)
    return '<p class="muted">No server metrics (run with --server-metrics URL to scrape them).</p>';
  return names
    .map((name, i) =>
      lineChart(name, seconds, [
        { name, color: COLORS[i % COLORS.length], values: timeline.map((p) => p.server?.[name] ?? 0) },
      ]),
    )
    .join('');
}

function funnelBars(result: LoadResult): string {
  const f = result.flows.funnel;
  const steps: [string, number][] = [
    ['started', f.started],
    ['issued', f.issued],
    ['admitted', f.admitted],
    ['held', f.held],
    ['paid', f.paid],
  ];
  const max = Math.max(1, ...steps.map(([, n]) => n));
  const rows = steps
    .map(([name, n], i) => {
      const w = (n / max) * 560;
      return `<text x="0" y="${i * 26 + 17}">${name}</text><rect x="80" y="${i * 26 + 4}" width="${w.toFixed(1)}" height="18" fill="${COLORS[i]}"/><text x="${86 + w}" y="${i * 26 + 17}">${n}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${steps.length * 26 + 4}" width="100%">${rows}</svg>`;
}

/** One self-contained HTML page; the result is also inlined as JSON for anyone who wants the raw data. */
export function renderHtml(result: LoadResult): string {
  const t = result.timeline;
  const seconds = t.map((p) => p.second);
  const c = result.config;
  const endpointRows = [...result.endpoints, result.totals]
    .map((e) => {
      const o = e.outcomes;
      const business = Object.entries(e.business)
        .map(([k, v]) => `${esc(k)} ${v}`)
        .join('<br>');
      const failedBy = Object.entries(e.failureKinds ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      return `<tr><td>${esc(e.route)}</td><td>${e.count}</td><td>${e.tps.toFixed(1)}</td><td>${fmtMs(e.avgMs)}</td><td>${fmtMs(e.p50Ms)}</td><td>${fmtMs(e.p90Ms)}</td><td>${fmtMs(e.p95Ms)}</td><td>${fmtMs(e.p99Ms)}</td><td>${fmtMs(e.p999Ms)}</td><td>${fmtMs(e.maxMs)}</td><td>${o.s2xx}</td><td>${o.s401}</td><td>${o.s403}</td><td>${o.s404}</td><td>${o.s409}</td><td>${o.s429}</td><td>${o.s4xx}</td><td>${o.s5xx}</td><td>${o.timeout}</td><td>${o.connError}</td><td>${(e.failureRate * 100).toFixed(2)}%</td><td>${esc(failedBy)}</td><td>${business}</td></tr>`;
    })
    .join('\n');
  const thresholds = result.thresholds.length
    ? `<h2>Thresholds</h2><ul>${result.thresholds.map((th) => `<li class="${th.ok ? 'pass' : 'fail'}">${th.ok ? 'PASS' : 'FAIL'} ${esc(th.expression)} (actual ${Number.isFinite(th.actual) ? +th.actual.toFixed(4) : 'n/a'})</li>`).join('')}</ul>`
    : '';
  const g = result.generator;
  const a = result.flows.admission;
  const data = JSON.stringify(result).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ticketrush loadtest: ${esc(c.scenario)} ${esc(result.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#111}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
th{background:#f5f5f5}figure{margin:12px 0}figcaption{font-weight:600}svg text{font-size:10px;fill:#555}
.key{font-weight:400;margin-left:10px;font-size:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
.warn{background:#fff3cd;padding:8px;border:1px solid #e0c36c}.muted{color:#777}.pass{color:#15803d}.fail{color:#b91c1c;font-weight:600}
</style></head><body>
<h1>ticketrush loadtest: ${esc(c.scenario)}</h1>
<p>${esc(c.executor)}, profile <b>${esc(c.profileName)}</b>, target ${esc(c.target)}${c.embedded ? ' (embedded)' : ''}, ${c.workers} worker(s), think scale ${c.thinkScale}, started ${esc(result.startedAt)}, ${result.durationS.toFixed(1)} s.</p>
${g.warnings.map((w) => `<p class="warn">${esc(w)}</p>`).join('')}
${thresholds}
<h2>Per endpoint</h2>
<p class="muted">Latency in ms, measured from the intended start of each request. Business outcomes (seat taken, insufficient points) are not failures.</p>
<table><tr><th>endpoint</th><th>count</th><th>TPS</th><th>avg</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>2xx</th><th>401</th><th>403</th><th>404</th><th>409</th><th>429</th><th>4xx</th><th>5xx</th><th>timeout</th><th>conn</th><th>failed</th><th>failed by kind</th><th>business</th></tr>
${endpointRows}</table>
<h2>Timeline</h2>
${lineChart('Virtual users and requests/s', seconds, [
  { name: 'VUs', color: COLORS[0], values: t.map((p) => p.vus) },
  { name: 'req/s', color: COLORS[2], values: t.map((p) => p.rps) },
])}
${lineChart(
  'Latency per second',
  seconds,
  [
    { name: 'p95', color: COLORS[4], values: t.map((p) => p.p95Ms) },
    { name: 'p99', color: COLORS[1], values: t.map((p) => p.p99Ms) },
  ],
  'ms',
)}
${lineChart('Failures, business outcomes and completed flows per second', seconds, [
  { name: 'failures', color: COLORS[1], values: t.map((p) => p.failures) },
  { name: 'business', color: COLORS[6], values: t.map((p) => p.business) },
  { name: 'flows done', color: COLORS[5], values: t.map((p) => p.flowsCompleted) },
])}
<h2>Flows</h2>
<p>Token issue to admission: p50 ${fmtMs(a.p50Ms)} ms, p95 ${fmtMs(a.p95Ms)} ms, max ${fmtMs(a.maxMs)} ms (${a.count} admitted). Completed flows: ${result.flows.flowsPerSecond}/s; dropped ${result.flows.funnel.dropped}, aborted ${result.flows.funnel.aborted}.</p>
${funnelBars(result)}
${onsaleHtml(result, perSecondChart, esc)}
<h2>Server metrics</h2>
${serverCharts(t, seconds)}
<h2>Load generator</h2>
<p>${g.cpuPercentOfOneCore}% of one core over ${g.cores} core(s). ${g.workers.map((w, i) => `Worker ${i}: cpu ${w.cpuPercent}%, event-loop use ${(w.eventLoopUtilization * 100).toFixed(0)}%, lag p99 ${w.lagP99Ms} ms, max ${w.lagMaxMs} ms.`).join(' ')}</p>
<script type="application/json" id="result">${data}</script>
</body></html>
`;
}
