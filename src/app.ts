import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from './config.ts';
import { ADMIN_PREFIX, adminRoutes } from './http/admin/routes.ts';
import { catalogRoutes } from './http/catalog.ts';
import { installErrorHandling, sendError } from './http/errors.ts';
import { livenessRoutes, readinessRoutes } from './http/health.ts';
import { identityBearerScheme } from './http/identity.ts';
import { metricsPlugin, metricsRoute } from './http/metrics.ts';
import { overloadGuard } from './http/overload-guard.ts';
import { paymentRoutes } from './http/payments.ts';
import { pointsRoutes } from './http/points.ts';
import { providerCallbackRoutes, providerSignatureScheme } from './http/provider-callbacks.ts';
import { queueRoutes } from './http/queue.ts';
import { registerRateLimiting } from './http/rate-limit.ts';
import { reservationRoutes } from './http/reservations.ts';
import { saleRoutes } from './http/sales.ts';
import { ErrorResponse } from './http/schemas.ts';
import { securityHeaders } from './http/security-headers.ts';
import { buildRequestValidator } from './http/validation.ts';
import { webRoutes } from './http/web/routes.ts';
import type { AppServices } from './services.ts';

export interface AppDeps {
  config: Config;
  services: AppServices;
  logger?: FastifyBaseLogger;
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestIdOf(req: { headers: Record<string, string | string[] | undefined> }): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
}

/** Builds the server without listening: tests inject requests, main.ts wires real dependencies. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, services } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // No per-request info line on the hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // A caller's x-request-id is kept only when it is safe to log and echo; otherwise a fresh one is made.
    requestIdHeader: false,
    genReqId: requestIdOf,
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    bodyLimit: 16 * 1024,
    schemaController: { compilersFactory: { buildValidator: buildRequestValidator } },
    return503OnClosing: true,
    frameworkErrors: sendError,
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  installErrorHandling(app);
  // Bodies are JSON only: any other content type is a 415, not a string for the schema to reject.
  app.removeContentTypeParser('text/plain');
  app.addSchema(ErrorResponse);
  // Answers are JSON: nothing may be framed, run or loaded from them. /docs sets its own policy below.
  await app.register(
    securityHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
    }),
  );
  if (config.corsOrigins.length > 0)
    await app.register(fastifyCors, {
      origin: config.corsOrigins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      exposedHeaders: ['retry-after', 'x-request-id'],
      maxAge: 600,
    });
  await registerRateLimiting(app, services.tokenIssueLimits);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'ticketrush',
        version: '0.1.0',
        description: 'Waiting room, seat holds, points and payments for high-demand ticket sales.',
      },
      components: {
        securitySchemes: {
          accessKey: { type: 'apiKey', in: 'header', name: 'Authorization' },
          ...(services.identity.mode === 'jwt' ? { identityBearer: identityBearerScheme } : {}),
          ...(services.providerTopUps ? { providerSignature: providerSignatureScheme } : {}),
          operatorKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An operator key from `ticketrush admin create-key` or POST /admin/api/keys',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // The UI's own scripts and styles, nothing inline but styles; replaces the API's deny-all policy on /docs only.
    staticCSP:
      "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; " +
      "img-src 'self' data:; script-src 'self'; style-src 'self' 'unsafe-inline'",
  });

  // App-wide hooks: the guard before any route it sheds; the metrics hooks see every route wherever they sit.
  await app.register(
    overloadGuard({
      monitor: services.pressure,
      acquireQueue: services.database.acquireQueue,
      budgetMs: config.dbPool.acquireTimeoutMs,
      metrics: services.metrics,
    }),
  );
  await app.register(livenessRoutes, { services });
  if (!hasInternalPort(config)) await app.register(readinessRoutes, { services });
  await app.register(catalogRoutes, { services });
  await app.register(reservationRoutes, { services });
  await app.register(pointsRoutes, { services });
  await app.register(paymentRoutes, { services });
  if (services.providerTopUps) await app.register(providerCallbackRoutes, { services });
  await app.register(queueRoutes, { services });
  await app.register(saleRoutes, { services });
  await app.register(webRoutes, {
    services,
    identity: services.identity.mode,
    demoUsers: config.demo.users,
  } as { services: AppServices });
  // Operator routes (the console's live figures included) need an operator key.
  await app.register(adminRoutes, { services, prefix: ADMIN_PREFIX });
  await app.register(
    metricsPlugin({
      metrics: services.metrics,
      window: services.bookingResponses,
      expose: !hasInternalPort(config),
    }),
  );
  return app;
}

/** Whether /metrics and /health/ready have a listener of their own (TR_INTERNAL_PORT). */
export const hasInternalPort = (config: Config): boolean => typeof config.internal.port === 'number';

/** The internal listener: readiness and metrics for operators, nothing a ticket buyer calls. */
export async function buildInternalApp(deps: AppDeps): Promise<App> {
  const { config, services } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => crypto.randomUUID(),
    requestTimeout: config.http.requestTimeoutMs,
    return503OnClosing: true,
    frameworkErrors: sendError,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  installErrorHandling(app);
  await app.register(livenessRoutes, { services });
  await app.register(readinessRoutes, { services });
  await app.register(metricsRoute(services.metrics));
  return app;
}
