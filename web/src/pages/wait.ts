import { type ApiResult, api, backoffMs, lostTurn } from '../lib/api.ts';
import { clockTime, duration, errorText, t } from '../lib/i18n.ts';
import { currentUser, dropKey, identityToken, keyOf, saveKey } from '../lib/session.ts';
import { userPicker } from '../lib/user-picker.ts';

/** The waiting room's answer; `admission` and the SOLD_OUT / PREQUEUE statuses come from newer servers. */
interface Ticket {
  accessKey?: string;
  status: 'WAITING' | 'ACTIVE' | 'SOLD_OUT' | 'PREQUEUE' | string;
  admission?: 'ADMITTED' | 'MOVING' | 'STALLED';
  position: number;
  etaSeconds: number | null;
  pollAfterMs: number;
}

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
let failures = 0;
let lastAdviceMs = 1000;
let finished = false;
/** What was last said in the live region, so it speaks on changes that matter, not on every poll. */
let announced: { position: number; at: number; state: string } = { position: 0, at: 0, state: '' };

const firstKey = () => `tr.first.${user}`;
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

/** A position is worth saying when it moved by a tenth or more since last said, at most every 5 s. */
function announcePosition(position: number, eta: string): void {
  const moved = Math.abs(announced.position - position);
  const worth = announced.state !== 'waiting' || moved >= Math.max(1, Math.ceil(announced.position / 10));
  if (!worth || (announced.state === 'waiting' && Date.now() - announced.at < 5000)) return;
  announce(t('wait.announce', { position, time: eta }), 'waiting');
  announced.position = position;
}

function setState(state: string, text = ''): void {
  el.ticket.dataset.state = state;
  el.state.textContent = text;
}

function render(ticket: Ticket): void {
  el.checked.textContent = t('wait.checked', { time: clockTime() });
  el.leave.hidden = false;
  if (ticket.status === 'ACTIVE') {
    admitted();
    return;
  }
  if (ticket.status === 'SOLD_OUT') {
    finished = true;
    el.position.textContent = t('wait.soldOut');
    el.eta.textContent = '';
    el.leave.hidden = true;
    setState('sold-out');
    if (announced.state !== 'sold-out') announce(t('wait.soldOut'), 'sold-out');
    return;
  }
  if (ticket.status === 'PREQUEUE') {
    const text = t('wait.prequeue', { time: duration(ticket.etaSeconds ?? 0) });
    el.position.textContent = text;
    el.eta.textContent = '';
    setState('prequeue');
    if (announced.state !== 'prequeue') announce(text, 'prequeue');
    return;
  }
  const first = firstPosition(ticket.position);
  el.position.textContent = t('wait.position', { position: ticket.position });
  el.progress.value = first > 0 ? Math.round(((first - ticket.position) / first) * 100) : 0;
  document.title = `#${ticket.position} · ${baseTitle}`;
  const stalled = ticket.admission === 'STALLED' || ticket.etaSeconds === null;
  const eta = stalled ? t('wait.etaUnknown') : duration(ticket.etaSeconds ?? 0);
  el.eta.textContent = stalled ? t('wait.etaUnknown') : t('wait.eta', { time: eta });
  if (stalled) {
    setState('stalled', t('wait.stalled'));
    if (announced.state !== 'stalled') announce(t('wait.stalled'), 'stalled');
  } else {
    setState('waiting');
    announcePosition(ticket.position, eta);
  }
}

function admitted(): void {
  finished = true;
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
  const res = await api<Ticket>('POST', `/api/users/${user}/token`, { key: jwt, body: {} });
  if (res.ok && res.data.accessKey && user) saveKey(user, res.data.accessKey);
  return res;
}

async function step(): Promise<void> {
  if (!user || finished) return;
  const key = keyOf(user);
  let res = key ? await api<Ticket>('GET', `/api/users/${user}/token`, { key }) : undefined;
  // No key yet, or the one kept was replaced or lapsed: issuing again keeps the place the server holds.
  if (!res || (!res.ok && lostTurn(res.code))) res = await join();
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
  await api('DELETE', `/api/users/${user}/token`, { key: keyOf(user) });
  dropKey(user);
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
  start();
});
start();
