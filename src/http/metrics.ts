import type { FastifyError, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { ResponseWindow } from '../domain/admission-controller.ts';
import { isDomainError } from '../domain/errors.ts';
import type { BookingStep, Metrics } from '../observability/metrics.ts';
import { msSinceAdmitted } from './guard.ts';
import { type AppHooks, appWide } from './plugin.ts';
import { isBookingRoute } from './route-classes.ts';

/** Which routes are a seat hold or a payment, as 'METHOD /route/template'. */
export const defaultBookingRoutes: Record<string, BookingStep> = {
  'POST /api/reservations': 'hold',
  'POST /api/payments': 'payment',
};

export interface MetricsPluginOptions {
  metrics: Metrics;
  /** Also fed every booking-route response that passed the admission gate, for the adaptive admission controller. */
  window?: ResponseWindow;
  /** Routes whose answers count as hold or payment outcomes; {} turns that off. */
  bookingRoutes?: Record<string, BookingStep>;
  /** Serve GET /metrics here (false when the internal port serves it). */
  expose?: boolean;
}

/**
 * ok for a 2xx, else the domain error code in lower case (seat_already_reserved, insufficient_points...):
 * a fixed set, so the label stays bounded.
 */
export function outcomeOf(status: number, errorCode: string | undefined): string {
  if (status < 400) return 'ok';
  if (errorCode) return errorCode.toLowerCase();
  if (status === 503) return 'overloaded';
  return status >= 500 ? 'error' : `http_${status}`;
}

/**
 * Records every response in the request histogram (app-wide hooks, one observe per request),
 * counts hold and payment outcomes, and serves GET /metrics in Prometheus text format.
 * Hooks registered this way apply to routes declared before it too.
 */
export function metricsPlugin(opts: MetricsPluginOptions): AppHooks {
  const { metrics, window } = opts;
  const bookingRoutes = opts.bookingRoutes ?? defaultBookingRoutes;
  const errorCodes = new WeakMap<FastifyRequest, string>();
  const plugin: AppHooks = async (app) => {
    app.addHook('onError', async (request: FastifyRequest, _reply: FastifyReply, err: FastifyError) => {
      if (isDomainError(err)) errorCodes.set(request, err.code);
    });
    // Callback style: this runs on every response, and an async hook costs a promise and a microtask each.
    app.addHook(
      'onResponse',
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        const route = request.routeOptions.url ?? 'unmatched';
        const status = reply.statusCode;
        const ms = reply.elapsedTime;
        metrics.observeRequest(request.method, route, status, ms / 1000);
        // The admission controller hears only requests the gate let through, timed from there.
        const handlerMs = window && isBookingRoute(route) ? msSinceAdmitted(request) : undefined;
        if (handlerMs !== undefined) window?.record(status, handlerMs);
        const step = bookingRoutes[`${request.method} ${route}`];
        if (step) metrics.bookingOutcome(step, outcomeOf(status, errorCodes.get(request)));
        done();
      },
    );
    if (opts.expose !== false) await app.register(metricsRoute(metrics));
  };
  return appWide(plugin, 'ticketrush-metrics');
}

/** GET /metrics in Prometheus text format, for whichever listener serves it. */
export function metricsRoute(metrics: Metrics): AppHooks {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const text = await metrics.render();
      return reply.header('content-type', metrics.contentType).send(text);
    });
  };
}
