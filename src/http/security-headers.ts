import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import { type AppHooks, appWide } from './plugin.ts';

/** Helmet's headers for these options: the same on every answer, so they are worked out once. */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const collector = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  // Helmet is a connect middleware over (req, res); with fixed options it only sets headers on `res`.
  helmet(options)({} as never, collector as never, (err?: unknown) => {
    if (err) throw err;
  });
  return headers;
}

/**
 * Helmet's security headers on every answer, errors and 404s included. @fastify/helmet called helmet(options)
 * per request, rebuilding and re-parsing every policy each time (about 8 % of a busy server's CPU); the
 * headers only depend on the options, so they are computed at start and copied onto each reply.
 */
export function securityHeaders(options: HelmetOptions): AppHooks {
  const headers = helmetHeaders(options);
  const plugin: AppHooks = async (app) => {
    app.addHook('onRequest', (_req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      reply.headers(headers);
      done();
    });
  };
  return appWide(plugin, 'ticketrush-security-headers');
}
