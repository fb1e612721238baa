import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { retryLaterIfUnavailable } from '../db/errors.ts';
import { type ErrorCode, isDomainError } from '../domain/errors.ts';

/** The one place where domain error codes become HTTP statuses. */
const statusByCode: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  CONCERT_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  SEAT_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  SEAT_ALREADY_RESERVED: 409,
  HOLD_LIMIT_REACHED: 409,
  RESERVATION_NOT_FOUND: 404,
  RESERVATION_EXPIRED: 409,
  NOT_RESERVATION_OWNER: 403,
  RESERVATION_NOT_HELD: 409,
  INSUFFICIENT_POINTS: 409,
  TOP_UP_REQUIRES_PROVIDER: 403,
  PROVIDER_SIGNATURE_INVALID: 401,
  PROVIDER_EVENT_MISMATCH: 409,
  ALREADY_PAID: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_PROGRESS: 409,
  TOKEN_MISSING: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_NOT_YOURS: 403,
  NOT_ADMITTED: 403,
  IDENTITY_REQUIRED: 401,
  IDENTITY_INVALID: 401,
  IDENTITY_NOT_THIS_USER: 403,
  IDENTITY_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  OPERATOR_KEY_REQUIRED: 401,
  OPERATOR_KEY_INVALID: 401,
  OPERATOR_KEY_REVOKED: 403,
  OPERATOR_KEY_NAME_TAKEN: 409,
  OPERATOR_KEY_NOT_FOUND: 404,
  SECTION_NOT_FOUND: 404,
  SEAT_IN_USE: 409,
  SEAT_MAP_INVALID: 422,
  SEAT_MAP_NOT_EDITABLE: 409,
  SALE_NOT_FOUND: 404,
  SALE_SOLD_OUT: 409,
  SALE_CLOSED: 409,
  SCHEDULE_NOT_IN_SALE: 403,
  QUEUE_FULL: 503,
  BUSY: 503,
  OVERLOADED: 503,
  DATABASE_UNAVAILABLE: 503,
  QUEUE_UNAVAILABLE: 503,
  CONFLICT_RETRY_EXHAUSTED: 503,
  INTERNAL: 500,
};

export const httpStatusOf = (code: ErrorCode): number => statusByCode[code];

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export const errorBody = (code: string, message: string, details?: Record<string, unknown>): ErrorBody => ({
  error: details ? { code, message, details } : { code, message },
});

const malformedJson = new Set(['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY']);

function fastifyCode(err: FastifyError, status: number): string {
  if (err.validation) return 'VALIDATION_FAILED';
  if (malformedJson.has(err.code)) return 'MALFORMED_JSON';
  if (status === 404) return 'NOT_FOUND';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 414) return 'URI_TOO_LONG';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 503) return 'BUSY';
  if (status === 400) return 'BAD_REQUEST';
  return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
}

/**
 * One error shape for every 4xx and 5xx, Fastify's own included; 5xx never carries a stack.
 * Also the app's `frameworkErrors`, for what Fastify rejects before routing (a URL that does not decode).
 */
export function sendError(thrown: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const err = retryLaterIfUnavailable(thrown);
  if (isDomainError(err)) {
    const status = httpStatusOf(err.code);
    const retryAfter = err.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number')
      reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
    return reply.status(status).send(errorBody(err.code, err.message, err.details));
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status >= 500) {
    request.log.error({ err }, 'request failed');
    const code = status === 503 ? 'BUSY' : 'INTERNAL';
    return reply
      .status(status)
      .send(errorBody(code, status === 503 ? 'Service busy, retry later' : 'Internal error'));
  }
  return reply.status(status).send(errorBody(fastifyCode(err, status), err.message));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(errorBody('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`));
  });
}
