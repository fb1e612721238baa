import { Type } from 'typebox';
import { ReadinessProbe } from '../observability/readiness.ts';
import type { RoutePlugin } from './plugin.ts';

const Check = Type.Object({ name: Type.String(), ok: Type.Boolean(), ms: Type.Number() });
const Ready = Type.Object({ status: Type.String(), checks: Type.Array(Check) });

export const livenessRoutes: RoutePlugin<never> = async (app) => {
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['health'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' }),
  );
};

/** Served on the internal port unless that is the API's own (the embedded demo). */
export const readinessRoutes: RoutePlugin<'readiness' | 'clock'> = async (app, { services }) => {
  const probe = new ReadinessProbe({ checks: services.readiness, clock: services.clock, log: app.log });
  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Every configured dependency answers (checked at most once a second)',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_req, reply) => {
      const { ok, checks } = await probe.report();
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
    },
  );
};
