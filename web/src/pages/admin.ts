import type { SaleSample } from '../../../src/observability/sale-sample.ts';
import { saleControls } from '../console/sale-controls.ts';
import { seatMapImport } from '../console/seat-map-import.ts';
import { api } from '../lib/api.ts';
import { clockTime, errorText, numberText, t } from '../lib/i18n.ts';

/** Controls this console has a form for (web/src/console). */
const CONSOLE_FORMS = new Set(['pause', 'resume', 'rate', 'cap', 'close', 'import']);
const SALE_CONTROLS = ['pause', 'resume', 'rate', 'cap', 'close'];

type Sample = SaleSample;

interface Stats {
  intervalMs: number;
  windowMs: number;
  samples: Sample[];
  controls: Record<string, boolean>;
}

const $ = <E extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as E;
const form = $<HTMLFormElement>('signin');
const keyInput = $<HTMLInputElement>('key');
const signinError = $('signin-error');
const dashboard = $('dashboard');
const status = $('status');
const KEY = 'tr.admin';
const operatorKey = () => sessionStorage.getItem(KEY) ?? '';
const sales = saleControls(operatorKey);
seatMapImport(operatorKey);

/** Each chart: its element id and how a sample gives its value (null: no data at that moment). */
const charts: Array<[string, (s: Sample) => number | null]> = [
  ['waiting', (s) => s.waiting],
  ['active', (s) => s.active],
  ['rate', (s) => s.measuredAdmitPerSecond ?? s.admitPerSecond],
  ['holds', (s) => s.holds],
  ['sold', (s) => s.sold],
  ['revenue', (s) => s.revenue],
  ['p95', (s) => s.bookingP95Ms],
  ['errors', (s) => s.errorPercent],
];

let samples: Sample[] = [];
let timer: number | undefined;
let failures = 0;

const SVG = 'http://www.w3.org/2000/svg';

function draw(id: string, values: Array<number | null>): void {
  const svg = document.querySelector(`#chart-${id} svg`) as SVGSVGElement;
  // One sample is drawn as a flat line, so a fresh dashboard is not blank.
  const series = values.length === 1 ? [values[0], values[0]] : values;
  const points = series.map((v, i) => [i, v ?? 0] as const);
  const max = Math.max(1, ...points.map(([, v]) => v));
  const n = Math.max(1, points.length - 1);
  const path = points
    .map(([i, v]) => `${((i / n) * 300).toFixed(1)},${(78 - (v / max) * 74).toFixed(1)}`)
    .join(' ');
  let line = svg.querySelector('polyline');
  if (!line) {
    line = document.createElementNS(SVG, 'polyline');
    svg.append(line);
  }
  line.setAttribute('points', path);
  const last = values[values.length - 1];
  $(`value-${id}`).textContent =
    last === null || last === undefined ? '–' : numberText(Math.round(last * 10) / 10);
}

function render(stats: Stats): void {
  const cutoff = Date.now() - stats.windowMs;
  samples = [...samples, ...stats.samples].filter((s) => s.at >= cutoff);
  for (const [id, value] of charts) draw(id, samples.map(value));
  const last = samples[samples.length - 1];
  if (last)
    $('value-rate').title = t('admin.rateNow', {
      set: numberText(last.admitPerSecond),
      measured: last.measuredAdmitPerSecond === null ? '–' : numberText(last.measuredAdmitPerSecond),
    });
  $('window').textContent = t('admin.window', {
    minutes: Math.round(stats.windowMs / 60_000),
    seconds: Math.round(stats.intervalMs / 1000),
  });
  status.textContent = t('admin.updated', { time: clockTime() });
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('[data-control]'))) {
    const control = b.dataset.control ?? '';
    // A button works only when the server has the route and this page has the form behind it.
    b.disabled = !(stats.controls[control] === true && CONSOLE_FORMS.has(control));
  }
  const salesApi = SALE_CONTROLS.every((c) => stats.controls[c] === true);
  $('controls-note').hidden = salesApi;
  sales.available(salesApi);
}

async function poll(first = false): Promise<void> {
  const key = sessionStorage.getItem(KEY);
  if (!key) return;
  const since = samples.length ? samples[samples.length - 1].at : 0;
  const res = await api<Stats>('GET', `/admin/api/stats${since ? `?since=${since}` : ''}`, { key });
  if (res.ok) {
    failures = 0;
    if (first) showDashboard();
    render(res.data);
    await sales.refresh();
    timer = window.setTimeout(() => void poll(), res.data.intervalMs);
    return;
  }
  if (res.status === 401 || res.status === 403) {
    sessionStorage.removeItem(KEY);
    showSignIn(t('admin.badKey'));
    return;
  }
  failures++;
  status.textContent = `${t('admin.stale')} ${errorText(res.code)}`;
  timer = window.setTimeout(() => void poll(), Math.min(30_000, 2000 * 2 ** failures));
}

function showDashboard(): void {
  form.hidden = true;
  dashboard.hidden = false;
  $('dash-heading').setAttribute('tabindex', '-1');
  $('dash-heading').focus();
}

function showSignIn(error = ''): void {
  window.clearTimeout(timer);
  samples = [];
  sales.reset();
  dashboard.hidden = true;
  form.hidden = false;
  signinError.textContent = error;
  keyInput.focus();
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, keyInput.value.trim());
  keyInput.value = '';
  void poll(true);
});

$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  showSignIn();
});

if (sessionStorage.getItem(KEY)) void poll(true);
