import type { FanAdmission } from '../../../src/domain/sales/model.ts';
import { type ApiResult, api, backoffMs, lostTurn } from '../lib/api.ts';
import { clockTime, countdown, duration, errorText, t } from '../lib/i18n.ts';
import { ticketPath } from '../lib/sales-api.ts';
import { currentUser, dropKey, identityToken, keyOf, saveKey } from '../lib/session.ts';
import { userPicker } from '../lib/user-picker.ts';

/** The waiting room's answer (the seed's fields; PREQUEUE, PAUSED, SOLD_OUT and CLOSED from sales). */
interface Ticket {
  accessKey?: string;
  status: 'WAITING' | 'ACTIVE' | 'SOLD_OUT' | 'PREQUEUE' | 'CLOSED' | string;
  admission?: FanAdmission;
  position: number;
  etaSeconds: number | null;
  pollAfterMs: number;
  /** PREQUEUE: when the sale opens (ISO 8601). */
  opensAt?: string;
}

/** A named sale's line (?sale=), or the seed's default line. */
const saleId = Number(new URLSearchParams(location.search).get('sale')) || undefined;
/** Joining a sold-out or closed sale is refused with these; they end the wait like the statuses do. */
const ENDED: Record<string, 'SOLD_OUT' | 'CLOSED'> = { SALE_SOLD_OUT: 'SOLD_OUT', SALE_CLOSED: 'CLOSED' };

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const el = {
  heading: $('wait-heading'),
  ticket: $('ticket'),
  position: $('position'),
  eta: $('eta'),
  progress: $('progress') as HTMLProgressElement,
  state: $('state'),
  admitted: $('admitted'),
  checked: $('checked'),
  leave: $('leave') as HTMLButtonElement,
  announce: $('announce'),
};
const baseTitle = document.title;

let user = currentUser();
let timer: number | undefined;
let tick: number | undefined;
let failures = 0;
let lastAdviceMs = 1000;
let finished = false;
/** What was last said in the live region, so it speaks on changes that matter, not on every poll. */
let announced: { position: number; at: number; state: string } = { position: 0, at: 0, state: '' };

const firstKey = () => `tr.first.${user}${saleId === undefined ? '' : `.sale.${saleId}`}`;
const firstPosition = (position: number): number => {
  const kept = Number(sessionStorage.getItem(firstKey()));
  if (kept >= position) return kept;
  sessionStorage.setItem(firstKey(), String(position));
  return position;
};

function announce(text: string, state: string): void {
  // Clearing first makes a screen reader speak a repeated sentence again.
  el.announce.textContent = '';
  window.setTimeout(() => {
    el.announce.textContent = text;
  }, 50);
  announced = { ...announced, at: Date.now(), state };
}

/**
 * A position is worth saying when it moved by a tenth or more since last said, at most every 5 s; and at once when the
 * wait it comes with changes kind (the wait worked out, or a number at last).
 */
function announcePosition(position: number, eta: string | undefined): void {
  const state = eta === undefined ? 'estimating' : 'waiting';
  const moved = Math.abs(announced.position - position);
  const worth = announced.state !== state || moved >= Math.max(1, Math.ceil(announced.position / 10));
  if (!worth || (announced.state === state && Date.now() - announced.at < 5000)) return;
  const text =
    eta === undefined
      ? t('wait.announceEstimating', { position })
      : t('wait.announce', { position, time: eta });
  announce(text, state);
  announced.position = position;
}

function setState(state: string, text = ''): void {
  el.ticket.dataset.state = state;
  el.state.textContent = text;
}

/** Sold out or closed: the answer for this sale, said once; polling stops. */
function ended(status: 'SOLD_OUT' | 'CLOSED'): void {
  finished = true;
  window.clearInterval(tick);
  const text = t(status === 'SOLD_OUT' ? 'wait.soldOut' : 'wait.closed');
  const state = status === 'SOLD_OUT' ? 'sold-out' : 'closed';
  el.position.textContent = text;
  el.eta.textContent = '';
  el.progress.value = 0;
  el.leave.hidden = true;
  setState(state);
  document.title = `${text} · ${baseTitle}`;
  if (announced.state !== state) announce(text, state);
}

/** Before the opening: a countdown to the second, ticking here between the server's answers. */
function prequeue(ticket: Ticket): void {
  const opensAt = ticket.opensAt ? Date.parse(ticket.opensAt) : Date.now() + (ticket.etaSeconds ?? 0) * 1000;
  const show = () => {
    const left = (opensAt - Date.now()) / 1000;
    el.position.textContent = left > 0 ? t('wait.prequeue', { time: countdown(left) }) : t('wait.opening');
  };
  window.clearInterval(tick);
  show();
  tick = window.setInterval(show, 1000);
  el.eta.textContent = t('wait.prequeued', { n: ticket.position });
  el.progress.removeAttribute('value');
  setState('prequeue');
  if (announced.state !== 'prequeue')
    announce(t('wait.prequeue', { time: duration(Math.max(0, (opensAt - Date.now()) / 1000)) }), 'prequeue');
}

function render(ticket: Ticket): void {
  el.checked.textContent = t('wait.checked', { time: clockTime() });
  el.leave.hidden = false;
  if (ticket.status === 'PREQUEUE') {
    prequeue(ticket);
    return;
  }
  window.clearInterval(tick);
  if (ticket.status === 'ACTIVE') {
    admitted(ticket);
    return;
  }
  if (ticket.status === 'SOLD_OUT' || ticket.status === 'CLOSED') {
    ended(ticket.status);
    return;
  }
  const first = firstPosition(ticket.position);
  el.position.textContent = t('wait.position', { position: ticket.position });
  el.progress.value = first > 0 ? Math.round(((first - ticket.position) / first) * 100) : 0;
  document.title = `#${ticket.position} · ${baseTitle}`;
  const paused = ticket.admission === 'PAUSED';
  // The line moves, and the wait is being worked out (a sale's first seconds): not a stall.
  const estimating = ticket.admission === 'ESTIMATING';
  const stalled = !estimating && (paused || ticket.admission === 'STALLED' || ticket.etaSeconds === null);
  const eta = stalled || estimating ? t('wait.etaUnknown') : duration(ticket.etaSeconds ?? 0);
  el.eta.textContent = estimating
    ? t('wait.estimating')
    : stalled
      ? t('wait.etaUnknown')
      : t('wait.eta', { time: eta });
  if (paused) {
    setState('paused', t('wait.paused'));
    if (announced.state !== 'paused') announce(t('wait.paused'), 'paused');
  } else if (announced.state === 'paused') {
    // Back from a pause: said at once, whatever the position did meanwhile.
    setState('waiting');
    announce(t('wait.resumed', { position: ticket.position, time: eta }), 'waiting');
    announced.position = ticket.position;
  } else if (stalled) {
    setState('stalled', t('wait.stalled'));
    if (announced.state !== 'stalled') announce(t('wait.stalled'), 'stalled');
  } else {
    setState('waiting');
    announcePosition(ticket.position, estimating ? undefined : eta);
  }
}

function admitted(ticket: Ticket): void {
  finished = true;
  // The key of a named sale's line is also the one the seat pages present.
  if (saleId !== undefined && user) {
    const key = ticket.accessKey ?? keyOf(user, saleId);
    if (key) saveKey(user, key);
  }
  sessionStorage.removeItem(firstKey());
  setState('admitted');
  el.position.textContent = '';
  el.eta.textContent = '';
  el.progress.value = 100;
  el.admitted.hidden = false;
  el.leave.hidden = true;
  el.heading.textContent = t('wait.admitted');
  document.title = `${t('wait.admittedTitle')} · ${t('site.name')}`;
  // Focus lands on the heading: a screen reader says it, a sighted fan sees the page change; no sound.
  el.heading.focus();
  announce(t('wait.admittedBody'), 'admitted');
}

async function join(): Promise<ApiResult<Ticket>> {
  const jwt = identityToken();
  const res = await api<Ticket>('POST', ticketPath(saleId, user ?? 0), { key: jwt, body: {} });
  if (res.ok && res.data.accessKey && user) saveKey(user, res.data.accessKey, saleId);
  return res;
}

async function step(): Promise<void> {
  if (!user || finished) return;
  const key = keyOf(user, saleId);
  let res = key ? await api<Ticket>('GET', ticketPath(saleId, user), { key }) : undefined;
  // No key yet, or the one kept was replaced or lapsed: issuing again keeps the place the server holds.
  if (!res || (!res.ok && lostTurn(res.code))) res = await join();
  if (!res.ok && ENDED[res.code]) {
    ended(ENDED[res.code]);
    return;
  }
  if (res.ok) {
    failures = 0;
    lastAdviceMs = Math.max(1000, res.data.pollAfterMs);
    render(res.data);
    if (!finished) next(lastAdviceMs);
    return;
  }
  failures++;
  const wait = backoffMs(failures, lastAdviceMs, res.retryAfterMs);
  const seconds = Math.ceil(wait / 1000);
  const busy = res.status === 429 || res.status === 503;
  const text =
    res.code === 'NETWORK'
      ? t('wait.retry', { seconds })
      : busy
        ? `${errorText(res.code)} ${t('wait.busy', { seconds })}`
        : `${errorText(res.code)} ${t('wait.retry', { seconds })}`;
  setState('error', text);
  next(wait);
}

function next(ms: number): void {
  window.clearTimeout(timer);
  timer = window.setTimeout(() => void step(), ms);
}

el.leave.addEventListener('click', async () => {
  if (!user) return;
  window.clearTimeout(timer);
  finished = true;
  // Servers with DELETE free the place at once; older ones let it lapse when polls stop.
  window.clearInterval(tick);
  await api('DELETE', ticketPath(saleId, user), { key: keyOf(user, saleId) });
  dropKey(user, saleId);
  sessionStorage.removeItem(firstKey());
  el.leave.hidden = true;
  el.position.textContent = t('wait.left');
  el.eta.textContent = '';
  setState('left');
  const again = document.createElement('button');
  again.type = 'button';
  again.textContent = t('wait.rejoin');
  again.addEventListener('click', () => location.reload());
  el.state.append(' ', again);
  again.focus();
});

function start(): void {
  if (!user) {
    setState('no-user', t('user.none'));
    el.position.textContent = '';
    return;
  }
  finished = false;
  void step();
}

userPicker((id) => {
  if (id === user) return;
  user = id;
  window.clearTimeout(timer);
  window.clearInterval(tick);
  start();
});
start();
