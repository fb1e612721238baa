/**
 * What a route is for, from its template: the one list that decides when the overload guard turns it away
 * and whether its answers tell the adaptive admission how the booking path is doing.
 */
export type RouteClass = 'operations' | 'docs' | 'waiting-room' | 'booking' | 'unmatched';

const WAITING_ROOM_ROUTES = new Set(['/api/users/:userId/token']);

/** `routeUrl` is Fastify's route template (request.routeOptions.url), or 'unmatched' / undefined for a 404. */
export function routeClassOf(routeUrl: string | undefined): RouteClass {
  if (routeUrl === undefined || routeUrl === 'unmatched') return 'unmatched';
  if (routeUrl === '/metrics' || routeUrl.startsWith('/health/')) return 'operations';
  if (routeUrl.startsWith('/docs')) return 'docs';
  if (WAITING_ROOM_ROUTES.has(routeUrl)) return 'waiting-room';
  return 'booking';
}

/** Which routes may be turned away at which level. */
export type ShedClass = 'never' | 'last' | 'normal';

const shedClassByRoute: Record<RouteClass, ShedClass> = {
  operations: 'never',
  'waiting-room': 'last',
  docs: 'normal',
  booking: 'normal',
  unmatched: 'normal',
};

export const shedClassOf = (routeUrl: string | undefined): ShedClass =>
  shedClassByRoute[routeClassOf(routeUrl)];

/** Routes admitted users call to book: their latency and errors drive the admission rate. */
export const isBookingRoute = (routeUrl: string | undefined): boolean => routeClassOf(routeUrl) === 'booking';
