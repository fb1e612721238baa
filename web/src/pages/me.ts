import { api } from '../lib/api.ts';
import { clockTime, numberText, t } from '../lib/i18n.ts';
import { currentUser, type KeptTicket, keepTickets, keptTickets, keyOf } from '../lib/session.ts';
import { userPicker } from '../lib/user-picker.ts';

interface Reservation {
  reservationId: string;
  concertScheduleId: number;
  seatId: number;
  status: string;
  price: number;
  expiresAt: string;
}

const list = document.getElementById('tickets') as HTMLUListElement;
const note = document.getElementById('me-note') as HTMLElement;

function render(tickets: KeptTicket[]): void {
  list.textContent = '';
  for (const k of tickets) {
    const li = document.createElement('li');
    li.dataset.status = k.status;
    const status = t(`status.${k.status}` as 'status.HELD');
    li.textContent = t('me.item', {
      schedule: k.scheduleId,
      seat: k.seatId,
      status,
      price: numberText(k.price),
    });
    if (k.status === 'HELD' && k.expiresAt)
      li.append(` (${t('me.expires', { time: clockTime(Date.parse(k.expiresAt)) })})`);
    list.append(li);
  }
  if (!tickets.length) note.textContent = t('me.none');
}

async function start(): Promise<void> {
  userPicker();
  const user = currentUser();
  if (!user) return;
  render(keptTickets(user));
  const key = keyOf(user);
  // The API answers only while the user's turn is active; outside it, the tickets this browser kept show.
  const res = key
    ? await api<{ reservations: Reservation[] }>('GET', `/api/users/${user}/reservations?limit=50`, { key })
    : undefined;
  if (!res?.ok) {
    if (!keptTickets(user).length) note.textContent = t('me.needTurn');
    return;
  }
  const tickets = res.data.reservations.map((r) => ({
    reservationId: r.reservationId,
    scheduleId: r.concertScheduleId,
    seatId: r.seatId,
    price: r.price,
    status: r.status,
    expiresAt: r.expiresAt,
  }));
  keepTickets(user, tickets);
  note.textContent = '';
  render(tickets);
}

void start();
