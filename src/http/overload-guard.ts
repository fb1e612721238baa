import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { AcquireClass, AcquireQueue } from '../db/acquire-queue.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PressureLevel, PressureMonitor } from '../observability/pressure-monitor.ts';
import { errorBody } from './errors.ts';
import { type AppHooks, appWide } from './plugin.ts';
import { acquireClassOf, routeClassOf } from './route-classes.ts';

/** What the guard may turn away: a booking route by its checkout class, the waiting room, anything else. */
export type ShedTarget = AcquireClass | 'waiting-room' | 'other';
export type ShedReason = 'process' | 'standing' | 'budget';

interface Rung {
  /** The process level (event loop, heap) from which it is refused. */
  refusedFrom: Exclude<PressureLevel, 'ok'>;
  /** Share of the connection budget its expected wait may take; 0 when it needs no connection. */
  budgetShare: number;
  /** Refused while its own connection queue stands (CoDel). */
  shedWhenStanding: boolean;
}

/**
 * Who is turned away first: catalog reads, then top-ups, then holds; a payment only when its own wait would
 * outlast the budget or the process itself is critical (a user who holds a seat must be able to pay for it);
 * the waiting room, which touches no database, only when the process is critical.
 */
const ladder: Record<ShedTarget, Rung> = {
  other: { refusedFrom: 'shed', budgetShare: 0, shedWhenStanding: false },
  catalog: { refusedFrom: 'shed', budgetShare: 0.5, shedWhenStanding: true },
  'top-up': { refusedFrom: 'shed', budgetShare: 0.75, shedWhenStanding: true },
  hold: { refusedFrom: 'critical', budgetShare: 1, shedWhenStanding: true },
  payment: { refusedFrom: 'critical', budgetShare: 1, shedWhenStanding: false },
  'waiting-room': { refusedFrom: 'critical', budgetShare: 0, shedWhenStanding: false },
};

const severity: Record<PressureLevel, number> = { ok: 0, shed: 1, critical: 2 };

export interface OverloadGuardOptions {
  monitor: PressureMonitor;
  /** The connection queue: routes run with their checkout class, and its sojourn decides refusals. */
  acquireQueue?: AcquireQueue;
  /** The longest a payment may expect to wait for a connection (the pool's acquire timeout). */
  budgetMs?: number;
  metrics?: Metrics;
  retryAfterSeconds?: number;
}

interface Treatment {
  target: ShedTarget | 'never';
  cls?: AcquireClass;
}

/**
 * Answers 503 OVERLOADED with Retry-After at once, instead of letting a request queue, when the process is
 * saturated, when the request's class has had a standing connection queue for a whole interval, or when
 * the wait it can expect exceeds its budget. A burst the database drains in time passes untouched.
 * Registered app-wide (not encapsulated), before the routes it guards.
 */
export function overloadGuard(opts: OverloadGuardOptions): AppHooks {
  const retryAfter = String(opts.retryAfterSeconds ?? 1);
  const queue = opts.acquireQueue;
  const budgetMs = opts.budgetMs ?? Number.POSITIVE_INFINITY;
  const treatments = new Map<string | undefined, Treatment>();
  const treatmentOf = (routeUrl: string | undefined): Treatment => {
    let treatment = treatments.get(routeUrl);
    if (!treatment) {
      const routeClass = routeClassOf(routeUrl);
      const cls = acquireClassOf(routeUrl);
      const target =
        routeClass === 'operations'
          ? 'never'
          : routeClass === 'waiting-room'
            ? 'waiting-room'
            : routeClass === 'booking'
              ? (cls as AcquireClass)
              : 'other';
      treatment = { target, cls };
      treatments.set(routeUrl, treatment);
    }
    return treatment;
  };

  const refusal = (target: ShedTarget): ShedReason | undefined => {
    const rung = ladder[target];
    if (severity[opts.monitor.state().processLevel] >= severity[rung.refusedFrom]) return 'process';
    if (!queue || target === 'other' || target === 'waiting-room') return undefined;
    if (rung.shedWhenStanding && queue.standing(target)) return 'standing';
    if (queue.expectedWaitMs(target) > budgetMs * rung.budgetShare) return 'budget';
    return undefined;
  };

  const plugin: AppHooks = async (app) => {
    // Callback style: this runs on every request, and an async hook costs a promise and a microtask each.
    app.addHook(
      'onRequest',
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        const { target } = treatmentOf(request.routeOptions.url);
        const reason = target === 'never' ? undefined : refusal(target);
        if (!reason) return done();
        opts.metrics?.shed(target, reason);
        reply
          .status(503)
          .header('retry-after', retryAfter)
          .send(errorBody('OVERLOADED', 'Server overloaded, retry shortly'));
      },
    );
    if (queue)
      // After body parsing, so the class reaches every checkout of the handler and its preHandlers.
      app.addHook(
        'preValidation',
        (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
          const { cls } = treatmentOf(request.routeOptions.url);
          if (cls) queue.runAs(cls, () => done());
          else done();
        },
      );
  };
  return appWide(plugin, 'ticketrush-overload-guard');
}
