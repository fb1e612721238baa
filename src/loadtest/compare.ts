import { fmtMs, table } from './report-console.ts';
import type { EndpointResult, LoadResult } from './result.ts';

function change(before: number, after: number): string {
  if (before === 0 && after === 0) return '0%';
  if (before === 0) return 'new';
  const d = ((after - before) / before) * 100;
  return `${d > 0 ? '+' : ''}${d.toFixed(1)}%`;
}

const cell = (a: number | undefined, b: number | undefined, fmt: (x: number) => string) =>
  a === undefined || b === undefined
    ? `${a === undefined ? '-' : fmt(a)} -> ${b === undefined ? '-' : fmt(b)}`
    : `${fmt(a)} -> ${fmt(b)} (${change(a, b)})`;

/** Per-endpoint differences from `a` (baseline) to `b`. */
export function renderCompare(a: LoadResult, b: LoadResult, aName = 'a', bName = 'b'): string {
  const routes = [
    ...new Set([...a.endpoints.map((e) => e.route), ...b.endpoints.map((e) => e.route)]),
  ].sort();
  const find = (r: LoadResult, route: string) => r.endpoints.find((e) => e.route === route);
  const row = (route: string, x: EndpointResult | undefined, y: EndpointResult | undefined) => [
    route,
    cell(x?.tps, y?.tps, (v) => v.toFixed(1)),
    cell(x?.p50Ms, y?.p50Ms, fmtMs),
    cell(x?.p95Ms, y?.p95Ms, fmtMs),
    cell(x?.p99Ms, y?.p99Ms, fmtMs),
    cell(x?.maxMs, y?.maxMs, fmtMs),
    cell(x && x.failureRate * 100, y && y.failureRate * 100, (v) => `${v.toFixed(2)}%`),
  ];
  const rows = routes.map((route) => row(route, find(a, route), find(b, route)));
  rows.push(row('all', a.totals, b.totals));
  const header = ['endpoint', 'TPS', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'failed'];
  const fa = a.flows;
  const fb = b.flows;
  return [
    `compare ${aName} (${a.config.scenario}/${a.config.profileName}, ${a.startedAt}) -> ${bName} (${b.config.scenario}/${b.config.profileName}, ${b.startedAt})`,
    '',
    table(header, rows),
    '',
    `admission p95: ${cell(fa.admission.p95Ms, fb.admission.p95Ms, fmtMs)} ms; flows/s: ${cell(fa.flowsPerSecond, fb.flowsPerSecond, (v) => v.toFixed(2))}; ` +
      `paid: ${fa.funnel.paid} -> ${fb.funnel.paid}`,
  ].join('\n');
}
