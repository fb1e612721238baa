import type { RoutePlugin } from '../plugin.ts';
import { auditRoutes } from './audit.ts';
import { OPERATOR_KEY_SCHEME, operatorAuth } from './auth.ts';
import { adminConcertRoutes } from './concerts.ts';
import { operatorKeyRoutes } from './keys.ts';
import { adminSaleRoutes } from './sales.ts';
import { adminScheduleRoutes } from './schedules.ts';
import { seatMapRoutes } from './seat-maps.ts';
import { adminStatsRoutes } from './stats.ts';

/** The prefix every operator route is under. */
export const ADMIN_PREFIX = '/admin/api';

/**
 * Every route registered in here (sales routes included, later) needs an operator key and is documented
 * under the `admin` tag and the `operatorKey` security scheme.
 */
export const adminRoutes: RoutePlugin<
  | 'operatorKeys'
  | 'auditLog'
  | 'catalogAdmin'
  | 'waitingRoom'
  | 'database'
  | 'bookingResponses'
  | 'clock'
  | 'sales'
  | 'saleRooms'
> = async (app, { services }) => {
  app.addHook('onRoute', (route) => {
    route.schema ??= {};
    Object.assign(route.schema, { tags: ['admin'], security: [{ [OPERATOR_KEY_SCHEME]: [] }] });
  });
  app.addHook('onRequest', operatorAuth(services.operatorKeys));
  await app.register(operatorKeyRoutes, { services });
  await app.register(auditRoutes, { services });
  await app.register(adminConcertRoutes, { services });
  await app.register(adminScheduleRoutes, { services });
  await app.register(seatMapRoutes, { services });
  await app.register(adminStatsRoutes, { services });
  await app.register(adminSaleRoutes, { services });
};
