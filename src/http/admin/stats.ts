import { Type } from 'typebox';
import { salesTotals } from '../../db/sales-totals.ts';
import { SaleStatsHistory } from '../../observability/sale-stats.ts';
import type { RoutePlugin } from '../plugin.ts';
import { errorResponses } from '../schemas.ts';

/**
 * Operator routes the console drives when the server has them (the sales API of issue 14 is not built yet);
 * the console greys out a control whose route is missing.
 */
export const CONTROL_ROUTES = {
  pause: { method: 'POST', url: '/admin/api/sales/:saleId/pause' },
  resume: { method: 'POST', url: '/admin/api/sales/:saleId/resume' },
  rate: { method: 'PATCH', url: '/admin/api/sales/:saleId/settings' },
  cap: { method: 'PATCH', url: '/admin/api/sales/:saleId/settings' },
  close: { method: 'POST', url: '/admin/api/sales/:saleId/close' },
  import: { method: 'PUT', url: '/admin/api/schedules/:scheduleId/seat-map' },
} as const;

const Sample = Type.Object({
  at: Type.Integer({ description: 'Epoch milliseconds' }),
  waiting: Type.Integer(),
  active: Type.Integer(),
  admitPerSecond: Type.Number(),
  measuredAdmitPerSecond: Type.Union([Type.Number(), Type.Null()]),
  holds: Type.Integer(),
  sold: Type.Integer(),
  revenue: Type.Integer({ description: 'Points paid in total' }),
  bookingP95Ms: Type.Union([Type.Number(), Type.Null()]),
  errorPercent: Type.Number(),
});

export const adminStatsRoutes: RoutePlugin<
  'waitingRoom' | 'database' | 'bookingResponses' | 'clock'
> = async (app, opts) => {
  const { waitingRoom, database, bookingResponses, clock } = opts.services;
  const history = new SaleStatsHistory({
    clock,
    read: async () => {
      const [counts, totals] = await Promise.all([
        waitingRoom.counts(),
        salesTotals(database.db, clock.now()),
      ]);
      const booking = bookingResponses.signals();
      return {
        waiting: counts.waiting,
        active: counts.active,
        admitPerSecond: counts.admitPerSecond,
        measuredAdmitPerSecond: counts.measuredAdmitPerSecond ?? null,
        ...totals,
        bookingP95Ms: booking.p95Ms ?? null,
        errorPercent: Math.round(booking.errorRate * 1000) / 10,
      };
    },
  });
  app.addHook('onClose', async () => history.stop());
  const capabilities = () =>
    Object.fromEntries(
      Object.entries(CONTROL_ROUTES).map(([name, route]) => [name, app.hasRoute(route)]),
    ) as Record<keyof typeof CONTROL_ROUTES, boolean>;

  app.get(
    '/stats',
    {
      schema: {
        summary: 'Live figures for the operator console: samples of the last minutes, newest last',
        description:
          'Sampled every intervalMs while someone asks (stops after two idle minutes). `since` returns only newer samples.',
        querystring: Type.Object({ since: Type.Optional(Type.Integer({ minimum: 0 })) }),
        response: {
          200: Type.Object({
            intervalMs: Type.Integer(),
            windowMs: Type.Integer(),
            samples: Type.Array(Sample),
            controls: Type.Record(Type.String(), Type.Boolean(), {
              description: 'Which operator controls this server has routes for',
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const samples = await history.since(req.query.since);
      reply.header('cache-control', 'no-store');
      return {
        intervalMs: history.intervalMs,
        windowMs: history.intervalMs * history.keep,
        samples,
        controls: capabilities(),
      };
    },
  );
};
