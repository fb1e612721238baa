import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../observability/metrics.ts';
import type { PressureMonitor } from '../observability/pressure-monitor.ts';
import { errorBody } from './errors.ts';
import { type AppHooks, appWide } from './plugin.ts';
import { shedClassOf } from './route-classes.ts';

export interface OverloadGuardOptions {
  monitor: PressureMonitor;
  metrics?: Metrics;
  retryAfterSeconds?: number;
}

/**
 * Answers 503 OVERLOADED with Retry-After at once while the monitor reports pressure, instead of
 * letting requests queue. Registered app-wide (not encapsulated), before the routes it guards.
 */
export function overloadGuard(opts: OverloadGuardOptions): AppHooks {
  const retryAfter = String(opts.retryAfterSeconds ?? 1);
  const plugin: AppHooks = async (app) => {
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const { level, processLevel } = opts.monitor.state();
      if (level === 'ok') return;
      const shedClass = shedClassOf(request.routeOptions.url);
      if (shedClass === 'never' || (shedClass === 'last' && processLevel !== 'critical')) return;
      opts.metrics?.shed(level);
      return reply
        .status(503)
        .header('retry-after', retryAfter)
        .send(errorBody('OVERLOADED', 'Server overloaded, retry shortly'));
    });
  };
  return appWide(plugin, 'ticketrush-overload-guard');
}
