import { Type } from 'typebox';
import type { RoutePlugin } from './plugin.ts';

const Check = Type.Object({
  name: Type.String(),
  ok: Type.Boolean(),
  ms: Type.Number(),
  error: Type.Optional(Type.String()),
});
const Ready = Type.Object({ status: Type.String(), checks: Type.Array(Check) });

export const healthRoutes: RoutePlugin<'readiness'> = async (app, { services }) => {
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

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Every configured dependency answers',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_req, reply) => {
      const checks = await Promise.all(
        services.readiness.map(async (dep) => {
          const started = performance.now();
          try {
            await withTimeout(dep.check(), 2000);
            return { name: dep.name, ok: true, ms: Math.round(performance.now() - started) };
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            return { name: dep.name, ok: false, ms: Math.round(performance.now() - started), error };
          }
        }),
      );
      const ok = checks.every((c) => c.ok);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
    },
  );
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
