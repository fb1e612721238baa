import type { AcquireClass } from '../db/acquire-queue.ts';

/**
 * What a route is for, from its template: the one list that decides when the overload guard turns it away,
 * how urgently its database checkouts are served, and whether its answers tell the adaptive admission how the
 * booking path is doing.
 */
export type RouteClass = 'operations' | 'docs' | 'pages' | 'waiting-room' | 'booking' | 'unmatched';

/** The seed's line (the default sale) and every sale's: joining, polling, leaving touch no database. */
const WAITING_ROOM_ROUTES = new Set(['/api/users/:userId/token', '/api/sales/:saleId/users/:userId/token']);
/** The fans' pages and the operator console (src/http/web/): HTML and static assets, not the booking path. */
const PAGE_ROUTES = new Set(['/', '/concerts/:concertId', '/wait', '/book', '/me', '/admin']);

/** `routeUrl` is Fastify's route template (request.routeOptions.url), or 'unmatched' / undefined for a 404. */
export function routeClassOf(routeUrl: string | undefined): RouteClass {
  if (routeUrl === undefined || routeUrl === 'unmatched') return 'unmatched';
  if (routeUrl === '/metrics' || routeUrl.startsWith('/health/')) return 'operations';
  if (routeUrl.startsWith('/docs')) return 'docs';
  if (routeUrl.startsWith('/admin/api/')) return 'operations';
  if (PAGE_ROUTES.has(routeUrl) || routeUrl.startsWith('/assets/')) return 'pages';
  if (WAITING_ROOM_ROUTES.has(routeUrl)) return 'waiting-room';
  return 'booking';
}

/**
 * How urgently each booking route's checkouts are served: a user who holds a seat must be able to pay for it,
 * so payments overtake holds, holds overtake top-ups and top-ups overtake catalog reads.
 */
export const acquireClassByRoute: Readonly<Record<string, AcquireClass>> = {
  '/api/payments': 'payment',
  '/api/reservations': 'hold',
  '/api/reservations/:reservationId': 'hold',
  '/api/users/:userId/reservations': 'hold',
  '/api/users/:userId/points/charge': 'top-up',
  '/api/payments/provider/callback': 'top-up',
  '/api/users/:userId/points': 'top-up',
  '/api/concerts': 'catalog',
  '/api/concerts/:concertId/schedules': 'catalog',
  '/api/schedules/:scheduleId': 'catalog',
  '/api/concerts/:concertId/schedules/:scheduleId/seats/available': 'catalog',
};

/**
 * The class a route's checkouts queue as: booking routes by the list above (one not listed waits as
 * catalog), readiness pings first (one cheap query that must answer), none for routes without a database.
 */
export function acquireClassOf(routeUrl: string | undefined): AcquireClass | undefined {
  const routeClass = routeClassOf(routeUrl);
  if (routeClass === 'operations') return 'payment';
  if (routeClass !== 'booking') return undefined;
  return acquireClassByRoute[routeUrl as string] ?? 'catalog';
}

/** Routes admitted users call to book: their latency and errors drive the admission rate. */
export const isBookingRoute = (routeUrl: string | undefined): boolean => routeClassOf(routeUrl) === 'booking';
