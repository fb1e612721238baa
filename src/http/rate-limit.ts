import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import type { PreHandler } from './guard.ts';

/** Token-issue limits; counters live in Redis (shared by every process) when `@fastify/rate-limit` was given one. */
export interface TokenIssueLimits {
  perIpPerMinute: number;
  perUserPerMinute: number;
  /** Loopback callers skip the per-address limit: the demo's load test runs thousands of users from 127.0.0.1. */
  exemptLoopback: boolean;
  /** Redis keeps the counters across processes; memory counts inside this one. */
  store: 'memory' | { redis: RedisClient; nameSpace: string };
}

/** Registers `@fastify/rate-limit` for explicit limiters only (no route is limited unless it asks). */
export async function registerRateLimiting(app: FastifyInstance, limits: TokenIssueLimits): Promise<void> {
  await app.register(fastifyRateLimit, {
    global: false,
    // A Redis outage must not turn into 500s here; the waiting room behind it answers 503 itself.
    skipOnError: true,
    ...(limits.store === 'memory' ? {} : { redis: limits.store.redis, nameSpace: limits.store.nameSpace }),
  });
}

const MINUTE_MS = 60_000;

const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');

/** One limiter over a key; throws RATE_LIMITED with Retry-After when the key is over its budget. */
function limiter(
  app: FastifyInstance,
  max: number,
  scope: string,
  keyOf: (req: FastifyRequest) => string,
  exempt?: (req: FastifyRequest) => boolean,
): PreHandler {
  const check = app.createRateLimit({
    max,
    timeWindow: MINUTE_MS,
    keyGenerator: (req) => `${scope}:${keyOf(req)}`,
    ...(exempt ? { allowList: (req: FastifyRequest) => exempt(req) } : {}),
  });
  return async (req) => {
    const limit = await check(req);
    if (limit.isAllowed || !limit.isExceeded) return;
    const retryAfterSeconds = Math.max(1, limit.ttlInSeconds);
    throw new DomainError(
      'RATE_LIMITED',
      `Too many token requests for this ${scope}; retry in ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  };
}

/** Per client address (before anything is parsed or verified) and per user (after the identity check). */
export function tokenIssueLimiters(
  app: FastifyInstance,
  limits: TokenIssueLimits,
): { perAddress: PreHandler[]; perUser: PreHandler[] } {
  const perAddress =
    limits.perIpPerMinute > 0
      ? [
          limiter(
            app,
            limits.perIpPerMinute,
            'address',
            (req) => normalizeIP(req.ip, 64),
            limits.exemptLoopback ? (req) => isLoopback(req.ip) : undefined,
          ),
        ]
      : [];
  const perUser =
    limits.perUserPerMinute > 0
      ? [
          limiter(app, limits.perUserPerMinute, 'user', (req) =>
            String((req.params as { userId: number }).userId),
          ),
        ]
      : [];
  return { perAddress, perUser };
}
