import { api, backoffMs, lostTurn } from '../lib/api.ts';
import { clockTime, countdown, errorText, numberText, t } from '../lib/i18n.ts';
import { currentUser, keepTicket, keyOf } from '../lib/session.ts';

interface Schedule {
  id: number;
  concertId: number;
  seatCount: number;
}
interface Seat {
  id: number;
  grade: string;
  price: number;
}
interface Reservation {
  reservationId: string;
  concertScheduleId: number;
  seatId: number;
  status: 'HELD' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED';
  price: number;
  expiresAt: string;
}

const $ = <E extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as E;
const el = {
  heading: $('book-heading'),
  alert: $('alert'),
  seats: $('seats'),
  updated: $('map-updated'),
  selection: $('selection'),
  countdown: $('countdown'),
  announce: $('announce'),
  hold: $<HTMLButtonElement>('hold'),
  pay: $<HTMLButtonElement>('pay'),
  release: $<HTMLButtonElement>('release'),
  done: $('done'),
  balance: $('balance'),
  topup: $<HTMLFormElement>('topup'),
  amount: $<HTMLInputElement>('amount'),
};

const scheduleId = Number(new URLSearchParams(location.search).get('schedule'));
const user = currentUser();
const key = user ? keyOf(user) : undefined;
const MAP_REFRESH_MS = 5000;

let schedule: Schedule | undefined;
let free = new Map<number, Seat>();
/** Taken by others: a held seat may come free again, a sold one will not. */
let held = new Set<number>();
let sold = new Set<number>();
let mine = new Set<number>();
/** The seat ids on the map, in order (free, held and sold together are every seat of the schedule). */
let seatIds: number[] = [];
let selected: number | undefined;
let hold: Reservation | undefined;
let paid = false;
let mapTimer: number | undefined;
let tick: number | undefined;
let failures = 0;

const say = (text: string) => {
  el.announce.textContent = text;
};
const alertText = (text: string) => {
  el.alert.textContent = text;
};

function turnEnded(): void {
  window.clearTimeout(mapTimer);
  el.alert.textContent = '';
  const p = document.createElement('span');
  p.textContent = `${t('book.notAdmitted')} `;
  const a = document.createElement('a');
  // A named sale's key starts with its sale id (`<saleId>.<key>`): back to that sale's line.
  const sale = /^(\d+)\./.exec(key ?? '')?.[1];
  a.href = `/wait?${sale ? `sale=${sale}&` : ''}schedule=${scheduleId}`;
  a.textContent = t('book.backToLine');
  el.alert.append(p, a);
  el.hold.hidden = true;
  el.pay.hidden = true;
}

function seatLabel(n: number): string {
  const seat = free.get(n);
  if (mine.has(n)) return t('book.seatMine', { n });
  if (seat) return t('book.seat', { n, grade: seat.grade, price: numberText(seat.price) });
  return t(sold.has(n) ? 'book.seatSold' : 'book.seatHeld', { n });
}

const stateOf = (n: number) => (mine.has(n) ? 'mine' : free.has(n) ? 'free' : sold.has(n) ? 'sold' : 'held');

function renderMap(): void {
  if (!schedule) return;
  const buttons = el.seats.children;
  if (el.seats.dataset.ids !== seatIds.join()) {
    el.seats.dataset.ids = seatIds.join();
    el.seats.textContent = '';
    for (const n of seatIds) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'seat';
      b.dataset.seat = String(n);
      b.textContent = String(n);
      el.seats.append(b);
    }
  }
  for (const b of Array.from(buttons) as HTMLButtonElement[]) {
    const n = Number(b.dataset.seat);
    const state = stateOf(n);
    b.dataset.state = state;
    b.setAttribute('aria-label', seatLabel(n));
    b.setAttribute('aria-pressed', String(selected === n));
    // Taken seats stay focusable (aria-disabled) so a screen reader user hears the whole map.
    b.setAttribute('aria-disabled', String(state !== 'free' || hold !== undefined || paid));
  }
  el.updated.textContent = t('book.updated', { time: clockTime() });
}

async function refreshMap(): Promise<void> {
  if (!schedule || !key || !user) return;
  const [seats, reservations] = await Promise.all([
    api<{ seats: Seat[]; held: number[]; sold: number[] }>(
      'GET',
      `/api/concerts/${schedule.concertId}/schedules/${schedule.id}/seats/available`,
      {
        key,
      },
    ),
    api<{ reservations: Reservation[] }>('GET', `/api/users/${user}/reservations?limit=50`, { key }),
  ]);
  if (!seats.ok) return mapFailed(seats.code, seats.retryAfterMs);
  failures = 0;
  free = new Map(seats.data.seats.map((s) => [s.id, s]));
  held = new Set(seats.data.held);
  sold = new Set(seats.data.sold);
  seatIds = [...new Set([...free.keys(), ...held, ...sold])].sort((a, b) => a - b);
  if (reservations.ok) {
    const here = reservations.data.reservations.filter((r) => r.concertScheduleId === schedule?.id);
    mine = new Set(here.filter((r) => r.status === 'CONFIRMED' || isLiveHold(r)).map((r) => r.seatId));
    const live = here.find(isLiveHold);
    if (live && !hold) showHold(live);
  }
  if (selected !== undefined && !free.has(selected) && !hold) selected = undefined;
  renderMap();
  scheduleMap(MAP_REFRESH_MS);
}

const isLiveHold = (r: Reservation) => r.status === 'HELD' && Date.parse(r.expiresAt) > Date.now();

function mapFailed(code: string, retryAfter?: number): void {
  if (lostTurn(code)) {
    turnEnded();
    return;
  }
  failures++;
  alertText(errorText(code));
  scheduleMap(backoffMs(failures, MAP_REFRESH_MS, retryAfter));
}

function scheduleMap(ms: number): void {
  window.clearTimeout(mapTimer);
  if (!paid) mapTimer = window.setTimeout(() => void refreshMap(), ms);
}

function select(n: number): void {
  const seat = free.get(n);
  if (!seat || hold || paid) return;
  selected = n;
  alertText('');
  el.selection.textContent = t('book.selected', { n, grade: seat.grade, price: numberText(seat.price) });
  el.hold.textContent = t('book.hold', { n });
  el.hold.hidden = false;
  renderMap();
}

function showHold(r: Reservation): void {
  hold = r;
  selected = r.seatId;
  mine.add(r.seatId);
  el.selection.textContent = t('book.holding', { n: r.seatId });
  el.hold.hidden = true;
  el.pay.textContent = t('book.pay', { price: numberText(r.price) });
  el.pay.hidden = false;
  el.release.hidden = false;
  runCountdown();
  renderMap();
}

function runCountdown(): void {
  window.clearInterval(tick);
  const update = () => {
    if (!hold) return;
    const left = (Date.parse(hold.expiresAt) - Date.now()) / 1000;
    if (left <= 0) {
      const n = hold.seatId;
      clearHold();
      alertText(t('book.expired', { n }));
      void refreshMap();
      return;
    }
    el.countdown.textContent = t('book.countdown', { time: countdown(left) });
    // One spoken reminder a minute before the end; the visible timer is not a live region.
    if (Math.ceil(left) === 60) say(el.countdown.textContent);
  };
  update();
  tick = window.setInterval(update, 1000);
}

function clearHold(): void {
  window.clearInterval(tick);
  if (hold) mine.delete(hold.seatId);
  hold = undefined;
  selected = undefined;
  el.countdown.textContent = '';
  el.pay.hidden = true;
  el.release.hidden = true;
  el.selection.textContent = '';
}

el.seats.addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.seat');
  if (b && b.getAttribute('aria-disabled') !== 'true') select(Number(b.dataset.seat));
});

el.hold.addEventListener('click', async () => {
  if (!user || selected === undefined || !schedule) return;
  el.hold.disabled = true;
  const res = await api<Reservation>('POST', '/api/reservations', {
    key,
    body: { userId: user, concertScheduleId: schedule.id, seatId: selected },
    idempotencyKey: crypto.randomUUID(),
  });
  el.hold.disabled = false;
  if (res.ok) {
    showHold(res.data);
    say(t('book.holding', { n: res.data.seatId }));
    el.pay.focus();
    return;
  }
  if (lostTurn(res.code)) return turnEnded();
  // The race lost: say so plainly, and show the map as it is now.
  alertText(errorText(res.code));
  selected = undefined;
  el.hold.hidden = true;
  el.selection.textContent = '';
  void refreshMap();
});

el.pay.addEventListener('click', async () => {
  if (!user || !hold) return;
  el.pay.disabled = true;
  const res = await api<{ reservationId: string; amount: number; balance: number }>('POST', '/api/payments', {
    key,
    body: { userId: user, reservationId: hold.reservationId },
    // A fresh key per press: a refused payment (too few points) is stored under its key and would replay.
    idempotencyKey: crypto.randomUUID(),
  });
  el.pay.disabled = false;
  if (!res.ok) {
    if (lostTurn(res.code)) return turnEnded();
    alertText(errorText(res.code));
    if (res.code === 'INSUFFICIENT_POINTS') el.amount.focus();
    return;
  }
  const seat = hold.seatId;
  keepTicket(user, {
    reservationId: hold.reservationId,
    scheduleId: hold.concertScheduleId,
    seatId: seat,
    price: res.data.amount,
    status: 'CONFIRMED',
  });
  paid = true;
  window.clearTimeout(mapTimer);
  clearHold();
  mine.add(seat);
  renderMap();
  alertText('');
  el.balance.textContent = t('book.balance', { n: numberText(res.data.balance) });
  el.done.textContent = '';
  const a = document.createElement('a');
  a.href = '/me';
  a.textContent = t('book.paid', { n: seat });
  el.done.append(a);
  el.done.hidden = false;
  el.done.setAttribute('tabindex', '-1');
  el.done.focus();
});

el.release.addEventListener('click', async () => {
  if (!hold) return;
  const res = await api('DELETE', `/api/reservations/${hold.reservationId}`, { key });
  if (!res.ok && lostTurn(res.code)) return turnEnded();
  clearHold();
  void refreshMap();
});

async function loadBalance(): Promise<void> {
  const res = await api<{ balance: number }>('GET', `/api/users/${user}/points`, { key });
  if (res.ok) el.balance.textContent = t('book.balance', { n: numberText(res.data.balance) });
}

el.topup.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!el.topup.reportValidity()) return;
  const amount = Number(el.amount.value);
  const res = await api<{ balance: number }>('POST', `/api/users/${user}/points/charge`, {
    key,
    body: { amount },
    idempotencyKey: crypto.randomUUID(),
  });
  if (!res.ok) {
    if (lostTurn(res.code)) return turnEnded();
    return alertText(errorText(res.code));
  }
  alertText('');
  el.balance.textContent = t('book.toppedUp', {
    n: numberText(amount),
    balance: numberText(res.data.balance),
  });
});

async function start(): Promise<void> {
  if (!user || !key || !scheduleId) return turnEnded();
  const res = await api<Schedule>('GET', `/api/schedules/${scheduleId}`, { key });
  if (!res.ok) return lostTurn(res.code) ? turnEnded() : alertText(errorText(res.code));
  schedule = res.data;
  el.selection.textContent = t('book.pick');
  await Promise.all([refreshMap(), loadBalance()]);
}

void start();
