import { config } from './i18n.ts';

/**
 * What the browser keeps: the demo user (or the ticket site's JWT), the waiting room's key per user (the
 * server keeps the place), and the tickets bought, so they still show once the turn has ended.
 */
const storage = (): Storage | undefined => {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
};

const get = (name: string) => storage()?.getItem(name) ?? undefined;
const set = (name: string, value: string) => {
  try {
    storage()?.setItem(name, value);
  } catch {
    /* private mode or full: the page still works for this visit */
  }
};

/** TR_IDENTITY=jwt: the ticket site opens the page with #jwt=<token>; it stays in this tab only. */
export function identityToken(): string | undefined {
  const m = /(?:^|[#&])jwt=([\w.-]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('tr.jwt', m[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('tr.jwt') ?? undefined;
}

function subjectOf(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    const id = Number(payload.sub);
    return Number.isInteger(id) && id > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

export function currentUser(): number | undefined {
  if (config.identity === 'jwt') {
    const jwt = identityToken();
    return jwt ? subjectOf(jwt) : undefined;
  }
  const id = Number(get('tr.user'));
  return Number.isInteger(id) && id >= 1 && id <= config.demoUsers ? id : undefined;
}

export const setUser = (id: number) => set('tr.user', String(id));

/** The waiting-room key per user; a named sale's line has its own (saleId), the seed's default line none. */
const keyName = (user: number, saleId?: number) =>
  `tr.key.${user}${saleId === undefined ? '' : `.sale.${saleId}`}`;
export const keyOf = (user: number, saleId?: number) => get(keyName(user, saleId));
export const saveKey = (user: number, key: string, saleId?: number) => set(keyName(user, saleId), key);
export const dropKey = (user: number, saleId?: number) => storage()?.removeItem(keyName(user, saleId));

export interface KeptTicket {
  reservationId: string;
  scheduleId: number;
  seatId: number;
  price: number;
  status: string;
  expiresAt?: string;
}

export function keptTickets(user: number): KeptTicket[] {
  try {
    return JSON.parse(get(`tr.tickets.${user}`) ?? '[]') as KeptTicket[];
  } catch {
    return [];
  }
}

export function keepTickets(user: number, tickets: KeptTicket[]): void {
  set(`tr.tickets.${user}`, JSON.stringify(tickets.slice(0, 50)));
}

export function keepTicket(user: number, ticket: KeptTicket): void {
  keepTickets(user, [ticket, ...keptTickets(user).filter((k) => k.reservationId !== ticket.reservationId)]);
}
