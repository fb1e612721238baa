/** Every failure a client can cause is a DomainError with a stable code; HTTP status mapping lives in src/http/errors.ts. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONCERT_NOT_FOUND'
  | 'SCHEDULE_NOT_FOUND'
  | 'SEAT_NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'SEAT_ALREADY_RESERVED'
  | 'HOLD_LIMIT_REACHED'
  | 'RESERVATION_NOT_FOUND'
  | 'RESERVATION_EXPIRED'
  | 'NOT_RESERVATION_OWNER'
  | 'RESERVATION_NOT_HELD'
  | 'INSUFFICIENT_POINTS'
  | 'TOP_UP_REQUIRES_PROVIDER'
  | 'PROVIDER_SIGNATURE_INVALID'
  | 'PROVIDER_EVENT_MISMATCH'
  | 'ALREADY_PAID'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'TOKEN_MISSING'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YOURS'
  | 'NOT_ADMITTED'
  | 'IDENTITY_REQUIRED'
  | 'IDENTITY_INVALID'
  | 'IDENTITY_NOT_THIS_USER'
  | 'IDENTITY_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'OPERATOR_KEY_REQUIRED'
  | 'OPERATOR_KEY_INVALID'
  | 'OPERATOR_KEY_REVOKED'
  | 'OPERATOR_KEY_NAME_TAKEN'
  | 'OPERATOR_KEY_NOT_FOUND'
  | 'SECTION_NOT_FOUND'
  | 'SEAT_IN_USE'
  | 'SEAT_MAP_INVALID'
  | 'SEAT_MAP_NOT_EDITABLE'
  | 'SALE_NOT_FOUND'
  | 'SALE_SOLD_OUT'
  | 'SALE_CLOSED'
  | 'SCHEDULE_NOT_IN_SALE'
  | 'QUEUE_FULL'
  | 'BUSY'
  | 'OVERLOADED'
  | 'DATABASE_UNAVAILABLE'
  | 'QUEUE_UNAVAILABLE'
  | 'CONFLICT_RETRY_EXHAUSTED'
  | 'INTERNAL';

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

/**
 * Failures that are not the client's (outage, contention, overload): a retry may succeed, so they are never
 * stored as an answer. src/http/errors.ts answers exactly these with a 5xx.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'QUEUE_FULL',
  'BUSY',
  'OVERLOADED',
  'DATABASE_UNAVAILABLE',
  'QUEUE_UNAVAILABLE',
  'CONFLICT_RETRY_EXHAUSTED',
  'IDENTITY_UNAVAILABLE',
  'INTERNAL',
]);

export const isTransient = (code: ErrorCode): boolean => TRANSIENT.has(code);
