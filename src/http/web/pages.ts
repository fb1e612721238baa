import type { Concert, ScheduleWithAvailability } from '../../domain/catalog.ts';
import { clientCatalog, type Language, translator } from './language.ts';

/** Text into HTML text or a double-quoted attribute. */
export const esc = (s: string | number): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** JSON inside <script type="application/json">: nothing in it may close the element. */
const jsonData = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

type T = ReturnType<typeof translator>;

export interface PageContext {
  lang: Language;
  t: T;
  /** Asset URLs by entry name (content-hashed). */
  assets: Record<string, string>;
  /** This page's path and query without lang, for the language switch. */
  path: string;
  query: Record<string, string>;
  identity: 'none' | 'jwt';
  demoUsers: number;
}

export const pageContext = (c: Omit<PageContext, 't'>): PageContext => ({ ...c, t: translator(c.lang) });

const dateFormats = {
  en: new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' }),
  ko: new Intl.DateTimeFormat('ko-KR', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' }),
};
const dateTime = (lang: Language, ms: number) => `${dateFormats[lang].format(ms)} UTC`;

function languageSwitch(c: PageContext): string {
  const link = (lang: Language, label: string) => {
    const q = new URLSearchParams({ ...c.query, lang }).toString();
    const current = lang === c.lang ? ' aria-current="true"' : '';
    return `<a href="${esc(`${c.path}?${q}`)}" lang="${lang}" hreflang="${lang}"${current}>${label}</a>`;
  };
  return `<nav class="lang" aria-label="${esc(c.t('nav.language'))}">${link('en', 'English')} ${link('ko', '한국어')}</nav>`;
}

interface LayoutOptions {
  title: string;
  entry: string;
  style: 'fan.css' | 'admin.css';
  body: string;
  /** Catalog keys the page's script uses, by prefix. */
  messages: readonly string[];
  admin?: boolean;
}

function layout(c: PageContext, o: LayoutOptions): string {
  const nav = o.admin
    ? ''
    : `<nav aria-label="${esc(c.t('nav.main'))}"><a href="/">${esc(c.t('nav.concerts'))}</a> <a href="/me">${esc(c.t('nav.tickets'))}</a></nav>`;
  const config = { identity: c.identity, demoUsers: c.demoUsers, lang: c.lang };
  return `<!doctype html>
<html lang="${c.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)} · ${esc(c.t('site.name'))}</title>
<link rel="stylesheet" href="${esc(c.assets[o.style])}">
<script type="module" src="${esc(c.assets[o.entry])}"></script>
</head>
<body>
<a class="skip" href="#main">${esc(c.t('site.skip'))}</a>
<header class="top"><a class="brand" href="${o.admin ? '/admin' : '/'}">${esc(c.t('site.name'))}</a>${nav}${languageSwitch(c)}</header>
<main id="main" tabindex="-1">
${o.body}
</main>
<script type="application/json" id="tr-i18n">${jsonData(clientCatalog(c.lang, o.messages, true))}</script>
<script type="application/json" id="tr-config">${jsonData(config)}</script>
</body>
</html>
`;
}

/** The demo user picker (TR_IDENTITY=none); its script remembers the choice in localStorage. */
function userPicker(c: PageContext): string {
  if (c.identity !== 'none') return `<p id="user-status" class="user-status"></p>`;
  return `<form id="user-form" class="user" action="" method="get">
<fieldset><legend>${esc(c.t('user.legend'))}</legend>
<p id="user-help">${esc(c.t('user.help', { max: c.demoUsers }))}</p>
<label for="user-id">${esc(c.t('user.label'))}</label>
<input id="user-id" name="user" type="number" inputmode="numeric" min="1" max="${c.demoUsers}" required aria-describedby="user-help user-status">
<button type="submit">${esc(c.t('user.use'))}</button>
<button type="button" id="user-random">${esc(c.t('user.random'))}</button>
<p id="user-status" class="user-status" aria-live="polite"></p>
</fieldset></form>`;
}

export function homePage(c: PageContext, concerts: Concert[], nextCursor: string | null): string {
  const items = concerts
    .map(
      (k) =>
        `<li><a href="/concerts/${k.id}"><span class="title">${esc(k.title)}</span></a> <span class="meta">${esc(c.t('home.venue', { artist: k.artist, venue: k.venue }))}</span></li>`,
    )
    .join('\n');
  const more = nextCursor
    ? `<p><a rel="next" href="/?${esc(new URLSearchParams({ after: nextCursor }).toString())}">${esc(c.t('home.more'))}</a></p>`
    : '';
  return layout(c, {
    title: c.t('home.title'),
    entry: 'home',
    style: 'fan.css',
    messages: ['user.', 'home.sale'],
    body: `<h1>${esc(c.t('home.title'))}</h1>
<p>${esc(c.t('home.lead'))}</p>
${userPicker(c)}
<section id="sales" hidden aria-labelledby="sales-heading"><h2 id="sales-heading">${esc(c.t('home.sales'))}</h2><ul id="sale-list" class="sales"></ul></section>
${concerts.length ? `<ul class="concerts">${items}</ul>${more}` : `<p>${esc(c.t('home.none'))}</p>`}`,
  });
}

export function concertPage(c: PageContext, concert: Concert, schedules: ScheduleWithAvailability[]): string {
  const rows = schedules
    .map((s) => {
      const when = dateTime(c.lang, s.startsAt);
      const left =
        s.availableSeats > 0
          ? `<span class="badge on">${esc(c.t('concert.onSale'))}</span> ${esc(c.t('concert.seatsLeft', { free: s.availableSeats, total: s.seatCount }))}`
          : `<span class="badge off">${esc(c.t('concert.soldOut'))}</span>`;
      const join =
        s.availableSeats > 0
          ? `<a class="button" href="/wait?schedule=${s.id}">${esc(c.t('concert.join', { date: when }))}</a>`
          : '';
      return `<li><h3><time datetime="${new Date(s.startsAt).toISOString()}">${esc(when)}</time></h3><p>${left}</p>${join}</li>`;
    })
    .join('\n');
  return layout(c, {
    title: concert.title,
    entry: 'home',
    style: 'fan.css',
    messages: ['user.'],
    body: `<h1>${esc(concert.title)}</h1>
<p>${esc(c.t('home.venue', { artist: concert.artist, venue: concert.venue }))}</p>
${userPicker(c)}
<h2>${esc(c.t('concert.dates'))}</h2>
<ul class="schedules">${rows}</ul>`,
  });
}

export function notFoundPage(c: PageContext): string {
  return layout(c, {
    title: c.t('concert.notFound'),
    entry: 'home',
    style: 'fan.css',
    messages: ['user.'],
    body: `<h1>${esc(c.t('concert.notFound'))}</h1><p><a href="/">${esc(c.t('nav.concerts'))}</a></p>`,
  });
}

export interface ShowInfo {
  scheduleId: number;
  concert: Concert;
  startsAt: number;
}

const showLine = (c: PageContext, show: ShowInfo | undefined) =>
  show
    ? `<p class="show" id="show" data-schedule="${show.scheduleId}" data-concert="${show.concert.id}"><strong>${esc(show.concert.title)}</strong> · <time datetime="${new Date(show.startsAt).toISOString()}">${esc(dateTime(c.lang, show.startsAt))}</time></p>`
    : '';

/**
 * The waiting room: its whole state is in this HTML (joining, place, ETA, progress) and the script fills it in.
 * The same HTML for everyone in a language, so it is cached.
 */
export function waitPage(c: PageContext, show: ShowInfo | undefined): string {
  return layout(c, {
    title: c.t('wait.title'),
    entry: 'wait',
    style: 'fan.css',
    messages: ['wait.', 'time.', 'user.'],
    body: `<h1 id="wait-heading" tabindex="-1">${esc(c.t('wait.heading'))}</h1>
${showLine(c, show)}
<p>${esc(c.t('wait.intro'))}</p>
<noscript><p class="notice">${esc(c.t('wait.noscript'))}</p></noscript>
<section class="ticket" id="ticket" data-state="joining" aria-labelledby="wait-heading">
<p class="position" id="position">${esc(c.t('wait.joining'))}</p>
<p class="eta" id="eta"></p>
<label for="progress" class="progress-label">${esc(c.t('wait.progress'))}</label>
<progress id="progress" max="100"></progress>
<p class="state" id="state" role="status"></p>
<p class="admitted" id="admitted" hidden>${esc(c.t('wait.admittedBody'))} <a class="button primary" id="continue" href="/book${show ? `?schedule=${show.scheduleId}` : ''}">${esc(c.t('wait.continue'))}</a></p>
<p class="checked" id="checked"></p>
<button type="button" id="leave" class="link" hidden>${esc(c.t('wait.leave'))}</button>
</section>
<p class="visually-hidden" id="announce" aria-live="polite" aria-atomic="true"></p>
${userPicker(c)}`,
  });
}

export function bookPage(c: PageContext, show: ShowInfo | undefined): string {
  const legend = (cls: string, key: 'book.free' | 'book.held' | 'book.sold' | 'book.mine') =>
    `<li><span class="swatch ${cls}" aria-hidden="true"></span>${esc(c.t(key))}</li>`;
  return layout(c, {
    title: c.t('book.title'),
    entry: 'book',
    style: 'fan.css',
    messages: ['book.', 'time.', 'user.', 'status.'],
    body: `<h1 id="book-heading" tabindex="-1">${esc(c.t('book.title'))}</h1>
${showLine(c, show)}
<p class="alert" id="alert" role="alert"></p>
<div class="book">
<section aria-labelledby="map-heading" class="map-section">
<h2 id="map-heading">${esc(c.t('book.map'))}</h2>
<ul class="legend">${legend('free', 'book.free')}${legend('held', 'book.held')}${legend('sold', 'book.sold')}${legend('mine', 'book.mine')}</ul>
<div id="seats" class="seats" role="group" aria-labelledby="map-heading"></div>
<p class="checked" id="map-updated"></p>
</section>
<section aria-labelledby="hold-heading" class="panel">
<h2 id="hold-heading">${esc(c.t('book.pick'))}</h2>
<p id="selection"></p>
<p id="countdown" class="countdown" role="timer" aria-live="off"></p>
<p class="visually-hidden" id="announce" aria-live="polite"></p>
<p class="actions"><button type="button" id="hold" class="primary" hidden></button> <button type="button" id="pay" class="primary" hidden></button> <button type="button" id="release" hidden>${esc(c.t('book.release'))}</button></p>
<p id="done" class="done" hidden></p>
<h2 id="points-heading">${esc(c.t('book.points'))}</h2>
<p id="balance" role="status"></p>
<form id="topup" class="topup"><label for="amount">${esc(c.t('book.amount'))}</label> <input id="amount" name="amount" type="number" min="1" max="1000000" step="1" value="50000" required> <button type="submit">${esc(c.t('book.topUp'))}</button></form>
</section>
</div>`,
  });
}

export function mePage(c: PageContext): string {
  return layout(c, {
    title: c.t('me.title'),
    entry: 'me',
    style: 'fan.css',
    messages: ['me.', 'status.', 'user.'],
    body: `<h1>${esc(c.t('me.title'))}</h1>
<p id="user-status" class="user-status"></p>
<p id="me-note"></p>
<ul id="tickets" class="tickets"></ul>`,
  });
}

export function adminPage(c: PageContext): string {
  const chart = (id: string, key: Parameters<T>[0]) =>
    `<figure class="chart" id="chart-${id}"><figcaption><span class="label">${esc(c.t(key))}</span> <output class="value" id="value-${id}">–</output></figcaption><svg viewBox="0 0 300 80" role="img" aria-label="${esc(c.t(key))}" preserveAspectRatio="none"></svg></figure>`;
  const figure = (id: string, key: Parameters<T>[0]) =>
    `<div><dt>${esc(c.t(key))}</dt><dd id="sale-${id}">–</dd></div>`;
  const number = (
    id: string,
    key: Parameters<T>[0],
    attrs: string,
    control: string,
    submit: Parameters<T>[0],
  ) =>
    `<form id="${id}-form" class="inline"><label for="${id}">${esc(c.t(key))}</label> <input id="${id}" name="${id}" type="number" required ${attrs}> <button type="submit" data-control="${control}">${esc(c.t(submit))}</button></form>`;
  return layout(c, {
    title: c.t('admin.title'),
    entry: 'admin',
    style: 'admin.css',
    admin: true,
    messages: ['admin.'],
    body: `<h1>${esc(c.t('admin.title'))}</h1>
<form id="signin" class="signin">
<label for="key">${esc(c.t('admin.key'))}</label>
<input id="key" name="key" type="password" autocomplete="current-password" required aria-describedby="key-help signin-error">
<p id="key-help" class="help">${esc(c.t('admin.keyHelp'))}</p>
<p id="signin-error" class="alert" role="alert"></p>
<button type="submit">${esc(c.t('admin.signIn'))}</button>
</form>
<section id="dashboard" hidden aria-labelledby="dash-heading">
<h2 id="dash-heading">${esc(c.t('admin.dashboard'))}</h2>
<p id="window" class="help"></p>
<p id="status" class="help" role="status"></p>
<div class="charts">
${chart('waiting', 'admin.waiting')}
${chart('active', 'admin.active')}
${chart('rate', 'admin.rate')}
${chart('holds', 'admin.holds')}
${chart('sold', 'admin.sold')}
${chart('revenue', 'admin.revenue')}
${chart('p95', 'admin.p95')}
${chart('errors', 'admin.errors')}
</div>
<section id="sale-section" class="box" aria-labelledby="sale-heading">
<h2 id="sale-heading">${esc(c.t('admin.controls'))}</h2>
<p id="controls-note" class="help" hidden>${esc(c.t('admin.noSalesApi'))}</p>
<fieldset id="sale-controls" disabled>
<legend class="visually-hidden">${esc(c.t('admin.controls'))}</legend>
<p class="inline"><label for="sale">${esc(c.t('admin.sale'))}</label> <select id="sale" name="sale"></select></p>
<dl class="figures" id="sale-figures" aria-label="${esc(c.t('admin.saleFigures'))}">
${figure('status', 'admin.saleStatus')}
${figure('waiting', 'admin.waiting')}
${figure('prequeued', 'admin.prequeued')}
${figure('active', 'admin.active')}
${figure('admitted', 'admin.admitted')}
${figure('holds', 'admin.holds')}
${figure('sold', 'admin.sold')}
${figure('revenue', 'admin.revenue')}
${figure('rate', 'admin.rate')}
${figure('pace', 'admin.pace')}
${figure('window', 'admin.activeWindow')}
</dl>
<p class="controls"><button type="button" id="pause" data-control="pause">${esc(c.t('admin.pause'))}</button> <button type="button" id="resume" data-control="resume">${esc(c.t('admin.resume'))}</button></p>
${number('rate', 'admin.rateLabel', 'min="0" step="any"', 'rate', 'admin.setRate')}
${number('cap', 'admin.capLabel', 'min="1" step="1"', 'cap', 'admin.setCap')}
<p class="controls"><button type="button" id="close" data-control="close" class="danger">${esc(c.t('admin.close'))}</button></p>
<div id="close-confirm" class="confirm" role="group" aria-labelledby="close-question" hidden>
<p id="close-question"></p>
<p class="controls"><button type="button" id="close-yes" class="danger">${esc(c.t('admin.closeYes'))}</button> <button type="button" id="close-no">${esc(c.t('admin.closeNo'))}</button></p>
</div>
</fieldset>
<p id="sale-result" class="result" role="status" tabindex="-1"></p>
</section>
<section id="import-section" class="box" aria-labelledby="import-heading">
<h2 id="import-heading">${esc(c.t('admin.import'))}</h2>
<form id="import-form" class="import">
<p class="inline"><label for="import-schedule">${esc(c.t('admin.importSchedule'))}</label> <input id="import-schedule" name="schedule" type="number" min="1" step="1" required aria-describedby="import-schedule-help"></p>
<p id="import-schedule-help" class="help">${esc(c.t('admin.importScheduleHelp'))}</p>
<fieldset class="inline"><legend>${esc(c.t('admin.importFormat'))}</legend>
<input type="radio" id="format-json" name="format" value="json" checked> <label for="format-json">JSON</label>
<input type="radio" id="format-csv" name="format" value="csv"> <label for="format-csv">CSV</label>
</fieldset>
<p class="inline"><label for="import-file">${esc(c.t('admin.importFile'))}</label> <input id="import-file" name="file" type="file" accept=".json,.csv,application/json,text/csv"></p>
<label for="import-text">${esc(c.t('admin.importText'))}</label>
<textarea id="import-text" name="text" rows="8" required spellcheck="false" aria-describedby="import-help"></textarea>
<p id="import-help" class="help">${esc(c.t('admin.importHelp'))}</p>
<p><button type="submit" data-control="import">${esc(c.t('admin.importSubmit'))}</button></p>
</form>
<p id="import-result" class="result" role="status" tabindex="-1"></p>
<ul id="import-problems" class="problems"></ul>
</section>
<p><button type="button" id="signout" class="link">${esc(c.t('admin.signOut'))}</button></p>
</section>`,
  });
}
