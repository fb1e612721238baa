import type { EtaAccuracy } from './flow-metrics.ts';
import type { OnsaleResult } from './onsale-summary.ts';
import type { LoadResult } from './result.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const signedPct = (x: number) => `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
/** |error|/wait percentiles, signed percentiles and the share within 20 %. */
const accuracyText = (e: EtaAccuracy) =>
  `|error|/wait p50 ${pct(e.absP50)}, p90 ${pct(e.absP90)}, p99 ${pct(e.absP99)}; ` +
  `signed p10 ${signedPct(e.signedP10)}, p50 ${signedPct(e.signedP50)}, p90 ${signedPct(e.signedP90)}; ` +
  `${pct(e.within20)} within 20%`;
const crowd = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

const SOLD_OUT_SOURCE: Record<NonNullable<OnsaleResult['soldOutSource']>, string> = {
  'server-sold': "the server's ticketrush_sale_sold reached the sale's seats",
  'sold-out-answer': 'the first SOLD_OUT answer a fan got',
  'schedules-found-full': 'every sale schedule found without a free seat, held seats included',
};

/** Where the crowd-in-line figures come from. */
export function waitingSourceText(o: OnsaleResult): string {
  if (o.waitingSource !== 'server') return "the runner's own waiting users";
  return o.sale
    ? `the server's ticketrush_sale_waiting{sale="${o.sale.saleId}"}`
    : "the server's ticketrush_queue_waiting";
}

/**
 * The session the sale's first ETAs assumed (the server's ticketrush_eta_prior_session_seconds at the opening)
 * and what the server had learned by the end: what the first ETAs rest on, before anyone admitted has left.
 */
export function etaPriorFacts(result: LoadResult, o: OnsaleResult): [string, string][] {
  const series = serverSeries(result, 'ticketrush_eta_prior_session_seconds');
  if (!series) return [];
  // The seconds the server was scraped (serverSeries reads 0 for the others).
  const scraped = result.timeline.flatMap((p, i) =>
    p.server === undefined ? [] : [{ second: p.second, value: series[i] }],
  );
  if (!scraped.length) return [];
  const opening = o.sale
    ? (scraped.find((p) => p.second >= o.sale!.opensAtS) ?? scraped.at(-1)!)
    : scraped[0];
  const last = scraped.at(-1)!;
  const seconds = (v: number) => (v > 0 ? `${Number(v.toFixed(1))} s` : 'none');
  return [
    [
      'ETA prior',
      `${seconds(opening.value)} at ${o.sale ? 'the opening' : 'the start'} (the session the first ETAs assume until the line ` +
        `measures its own: the last sale's, else TR_EXPECTED_SESSION_SECONDS; none: no ETA for places that wait on ` +
        `departures until it has); ${seconds(last.value)} at the end`,
    ],
  ];
}

/** The on-sale figures as rows of label and value, shared by the console and the HTML page. */
export function onsaleFacts(result: LoadResult, o: OnsaleResult): [string, string][] {
  const a = result.flows.admission;
  const f = result.flows.funnel;
  const g = o.generator;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    ['crowd', `${o.plan.users} distinct users joining within ${s(o.plan.joinMs)}; ${f.started} started`],
    [
      'sale',
      `${o.plan.saleSeats} seats: schedules ${o.plan.firstSchedule}..${o.plan.firstSchedule + o.plan.saleSchedules - 1} x ${o.plan.seatsPerSchedule} seats`,
    ],
    [
      'flows',
      `${f.completed} completed, ${f.aborted} aborted; ${o.retried} requests retried after a 503/429 with Retry-After`,
    ],
    [
      'aborted by',
      Object.entries(o.abortedBy ?? {})
        .map(([why, n]) => `${why} ${n}`)
        .join('; ') || 'none',
    ],
    ['time to admission', `p50 ${s(a.p50Ms)}, p95 ${s(a.p95Ms)}, max ${s(a.maxMs)} (${a.count} admitted)`],
    ...(o.etaInterval
      ? [
          [
            'ETA accuracy',
            `${accuracyText(o.etaInterval)} (${o.etaInterval.samples} users who waited); ` +
              `error: the told ETA's distance to the span between the last "waiting" and first "admitted" answers ` +
              `(median span ${o.etaInterval.widthP50S} s); goal p90 <= 20%: ${o.etaInterval.goalMet ? 'met' : 'NOT met'}`,
          ] as [string, string],
        ]
      : []),
    [
      o.etaInterval ? 'ETA, midpoint' : 'ETA accuracy',
      `${accuracyText(o.eta)} (${o.eta.samples} users who waited)` +
        `${o.etaInterval ? '; admission placed midway in that span, for comparison' : ''}; goal p90 <= 20%: ${o.eta.goalMet ? 'met' : 'NOT met'}`,
    ],
    [
      'ETA, long waits',
      !o.etaLongWaits
        ? 'not measured'
        : o.etaLongWaits.samples === 0
          ? `no user waited >= ${o.etaLongWaits.minWaitS} s`
          : `users who waited >= ${o.etaLongWaits.minWaitS} s: |error|/wait p50 ${pct(o.etaLongWaits.absP50)}, p90 ${pct(o.etaLongWaits.absP90)}; ` +
            `signed p10 ${signedPct(o.etaLongWaits.signedP10)}, p50 ${signedPct(o.etaLongWaits.signedP50)}, p90 ${signedPct(o.etaLongWaits.signedP90)}; ` +
            `${pct(o.etaLongWaits.within20)} within 20% (${o.etaLongWaits.samples} users)` +
            (o.etaLongWaitsInterval ? `; interval: ${accuracyText(o.etaLongWaitsInterval)}` : ''),
    ],
    ...etaPriorFacts(result, o),
    ...(o.etaWithheld
      ? [
          [
            'ETA withheld',
            `${o.etaWithheld.toldLate} users were told their first ETA after answers without one (etaSeconds null: ` +
              `ESTIMATING while the line measures how long admitted users stay, or STALLED, or beyondSeats), after p50 ${o.etaWithheld.toldLateP50S} s / ` +
              `p90 ${o.etaWithheld.toldLateP90S} s; ${o.etaWithheld.admittedUntold} were admitted before any ETA was told them`,
          ] as [string, string],
        ]
      : []),
    [
      'ETA by join time',
      (o.etaByJoin ?? [])
        .map(
          (r) =>
            `${r.fromS}-${r.toS} s: n ${r.samples}, place ${Math.round(r.meanPosition)}, told ${r.meanToldS} s / waited ${r.meanWaitedS} s, signed p50 ${signedPct(r.signedP50)}, |error| p90 ${pct(r.absP90)}` +
            (r.intervalAbsP90 === undefined
              ? ''
              : ` (interval: signed p50 ${signedPct(r.intervalSignedP50 ?? 0)}, |error| p90 ${pct(r.intervalAbsP90)})`),
        )
        .join('; '),
    ],
    [
      'sold out in line',
      `${o.endedInLine ?? 0} waiters answered SOLD_OUT/CLOSED (${o.endedInLineTold ?? 0} of them had been told an ETA)` +
        (o.sale ? `; sale ${o.sale.saleId} opened at ${o.sale.opensAtS} s (pre-queue and draw)` : ''),
    ],
    [
      'purchases',
      `${o.purchases.total} paid; ${o.purchases.perSecondMean}/s mean from ${o.purchases.firstS} s to ${o.purchases.lastS} s, peak ${o.purchases.perSecondPeak}/s`,
    ],
    [
      'sold out',
      o.soldOutAtS === null
        ? `not sold out (${o.schedulesFoundSoldOut}/${o.plan.saleSchedules} schedules found full)`
        : `at ${o.soldOutAtS} s from the start (${SOLD_OUT_SOURCE[o.soldOutSource ?? 'schedules-found-full']}); ${o.turnedAway} users turned away`,
    ],
    [
      'generator',
      `peak ${g.peakVus} virtual users; with ${g.liveVus} alive after joining, live heap +${mib(g.heapDeltaBytes)} ` +
        `(${kib(g.heapPerVuBytes)}/VU), RSS +${mib(g.rssDeltaBytes)} (${kib(g.rssPerVuBytes)}/VU); RSS peak ${mib(g.rssPeakBytes)}; ` +
        `CPU ${result.generator.cpuPercentOfOneCore}% of one core` +
        (g.serverCpuPercentOfOneCore === null
          ? ''
          : `, server ${g.serverCpuPercentOfOneCore}% of one core; generator share ${pct(g.generatorCpuShare ?? 0)}`),
    ],
  ];
}

const POLL_HEADER = ['waiting (about)', 'seconds', 'mean waiting', 'polls/s', 'polls/s per waiting user'];

export function pollRows(o: OnsaleResult): string[][] {
  return o.pollsByCrowd.map((r) => [
    crowd(r.waiting),
    String(r.seconds),
    String(r.meanWaiting),
    r.pollsPerSecond.toFixed(1),
    r.pollsPerUserSecond.toFixed(4),
  ]);
}

/** The console's on-sale section. */
export function onsaleConsole(
  result: LoadResult,
  table: (header: string[], rows: string[][]) => string,
): string[] {
  const o = result.onsale;
  if (!o) return [];
  const width = Math.max(...onsaleFacts(result, o).map(([k]) => k.length));
  return [
    '',
    'on-sale:',
    ...onsaleFacts(result, o).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    `polls per second by crowd in line (${waitingSourceText(o)}, each second):`,
    table(POLL_HEADER, pollRows(o)),
  ];
}

export const POLL_TABLE_HEADER = POLL_HEADER;

export interface ChartSeries {
  name: string;
  values: number[];
}

type Chart = (title: string, series: ChartSeries[], unit?: string) => string;

/** A server series per second (0 where a scrape missed); undefined when never scraped. */
function serverSeries(result: LoadResult, key: string, scale = 1): number[] | undefined {
  const t = result.timeline;
  if (!t.some((p) => p.server?.[key] !== undefined)) return undefined;
  return t.map((p) => (p.server?.[key] ?? 0) * scale);
}

/** Mean of an application histogram per second, over all its labels, from the rates of its _sum and _count. */
function histogramMean(result: LoadResult, name: string, scale: number): number[] | undefined {
  const total = (part: 'sum' | 'count') => {
    const prefix = `rate(${name}_${part}`;
    const keys = [...new Set(result.timeline.flatMap((p) => Object.keys(p.server ?? {})))].filter(
      (key) => key === `${prefix})` || key.startsWith(`${prefix}{`),
    );
    if (!keys.length) return undefined;
    return result.timeline.map((p) => keys.reduce((sum, key) => sum + (p.server?.[key] ?? 0), 0));
  };
  const sums = total('sum');
  const counts = total('count');
  if (!sums || !counts) return undefined;
  return sums.map((sum, i) => (counts[i] > 0 ? (sum / counts[i]) * scale : 0));
}

const present = (series: [string, number[] | undefined][]): ChartSeries[] =>
  series.flatMap(([name, values]) => (values ? [{ name, values }] : []));

/** A gauge of a running total as its change per second (0 where a scrape missed on either side). */
function perSecondOf(values: number[] | undefined, result: LoadResult, key: string): number[] | undefined {
  if (!values) return undefined;
  const seen = result.timeline.map((p) => p.server?.[key] !== undefined);
  return values.map((v, i) => (i > 0 && seen[i] && seen[i - 1] ? Math.max(0, v - values[i - 1]) : 0));
}

/**
 * The server's series an on-sale run is judged by: admission rate, the line, pool waits, event-loop delay.
 * A sale run (--sale-opens-in) charts the sale's own ticketrush_sale_*{sale="id"}; the default line's
 * ticketrush_queue_* stay flat then.
 */
export function saleServerCharts(result: LoadResult, chart: Chart): string {
  const saleId = result.onsale?.sale?.saleId;
  const sale = (name: string) => `ticketrush_sale_${name}{sale="${saleId}"}`;
  const admitted = saleId === undefined ? undefined : serverSeries(result, sale('admitted_total'));
  const groups: [string, ChartSeries[], string][] = [
    [
      'Server: admission rate',
      present(
        saleId === undefined
          ? [
              ['admit rate setting', serverSeries(result, 'ticketrush_admit_rate_per_second')],
              ['admitted/s', serverSeries(result, 'rate(ticketrush_queue_admissions_total)')],
            ]
          : [
              ["sale's pace (the controller's)", serverSeries(result, sale('pace_per_second'))],
              ["sale's admit rate (measured)", serverSeries(result, sale('admit_per_second'))],
              ['admitted/s', perSecondOf(admitted, result, sale('admitted_total'))],
            ],
      ),
      'users/s',
    ],
    [
      saleId === undefined ? 'Server: the line' : `Server: sale ${saleId}'s line and seats`,
      present(
        saleId === undefined
          ? [
              ['waiting', serverSeries(result, 'ticketrush_queue_waiting')],
              ['active', serverSeries(result, 'ticketrush_queue_active')],
            ]
          : [
              ['waiting (pre-queue included)', serverSeries(result, sale('waiting'))],
              ['active', serverSeries(result, sale('active'))],
              ['active window', serverSeries(result, sale('window'))],
              ['seats held', serverSeries(result, sale('holds'))],
              ['seats sold', serverSeries(result, sale('sold'))],
            ],
      ),
      'users, seats',
    ],
    [
      'Server: database pool waits',
      present([
        ['requests waiting for a connection', serverSeries(result, 'ticketrush_db_pool_waiting')],
        ['mean wait (ms)', histogramMean(result, 'ticketrush_db_pool_wait_seconds', 1000)],
      ]),
      '',
    ],
    [
      'Server: event-loop delay',
      present([
        ['lag p99', serverSeries(result, 'nodejs_eventloop_lag_p99_seconds', 1000)],
        ['overload guard sample', serverSeries(result, 'ticketrush_overload_event_loop_delay_seconds', 1000)],
      ]),
      'ms',
    ],
  ];
  return groups
    .map(([title, series, unit]) =>
      series.length ? chart(title, series, unit) : `<p class="muted">${title}: not scraped.</p>`,
    )
    .join('\n');
}

/** The HTML page's on-sale section: the figures, polls by crowd size, and its charts. */
export function onsaleHtml(result: LoadResult, chart: Chart, esc: (s: string) => string): string {
  const o = result.onsale;
  if (!o) return '';
  const facts = onsaleFacts(result, o)
    .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td style="text-align:left">${esc(v)}</td></tr>`)
    .join('');
  const polls = pollRows(o)
    .map((row) => `<tr>${row.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`)
    .join('');
  const source = waitingSourceText(o);
  const per = o.perSecond;
  return `<h2>On-sale</h2>
<table>${facts}</table>
<h3>Polls per second by crowd in line</h3>
<p class="muted">Each second's crowd from ${esc(source)}, grouped by size within a factor of √10; a falling last column means poll traffic grows sub-linearly with the crowd.</p>
<table><tr>${POLL_HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${polls}</table>
${chart('Users waiting and queue polls per second', [
  { name: 'waiting', values: per.map((p) => p.waiting) },
  { name: 'polls/s', values: per.map((p) => p.polls) },
])}
${chart('Purchases per second', [{ name: 'paid', values: per.map((p) => p.purchases) }])}
${saleServerCharts(result, chart)}`;
}
