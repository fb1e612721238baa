import { DomainError } from '../domain/errors.ts';
import { SOCKET_ERROR_CODES } from '../socket-errors.ts';

/** Recognises driver errors across node:sqlite, pg and mysql2, so callers can speak in domain terms. */
interface DriverError {
  code?: string;
  errno?: number;
  errcode?: number;
  message?: string;
  cause?: unknown;
  errors?: unknown[];
}

const asDriver = (err: unknown): DriverError =>
  typeof err === 'object' && err !== null ? (err as DriverError) : {};

export function isUniqueViolation(err: unknown): boolean {
  const e = asDriver(err);
  return (
    e.code === '23505' ||
    e.code === 'ER_DUP_ENTRY' ||
    e.errno === 1062 ||
    e.errcode === 2067 ||
    e.errcode === 1555 ||
    /UNIQUE constraint failed/.test(e.message ?? '')
  );
}

/** Deadlocks, serialization failures and lock waits: the transaction can simply run again. */
export function isRetryableConflict(err: unknown): boolean {
  const e = asDriver(err);
  return (
    e.code === '40001' ||
    e.code === '40P01' ||
    e.errno === 1213 ||
    e.errno === 1205 ||
    e.code === 'ER_LOCK_DEADLOCK' ||
    e.code === 'ER_LOCK_WAIT_TIMEOUT' ||
    e.errcode === 5 ||
    e.errcode === 6 ||
    /database is locked/.test(e.message ?? '')
  );
}

/** The code of the error a timed mysql2 checkout fails with (src/db/pool-timing.ts sets it). */
export const POOL_ACQUIRE_TIMEOUT = 'POOL_ACQUIRE_TIMEOUT';

/** No pooled connection could be had in time. */
export function isPoolTimeout(err: unknown): boolean {
  const e = asDriver(err);
  return (
    /timeout exceeded when trying to connect/i.test(e.message ?? '') ||
    /Queue limit reached|pool acquire timeout/i.test(e.message ?? '') ||
    e.code === POOL_ACQUIRE_TIMEOUT
  );
}

/** Maps a pool timeout to 503 BUSY with Retry-After; anything else comes back unchanged. */
export function busyIfPoolTimeout<E>(err: E): E | DomainError {
  if (!isPoolTimeout(err)) return err;
  return new DomainError('BUSY', 'No database connection free in time, retry shortly', {
    retryAfterSeconds: 1,
  });
}

/**
 * PostgreSQL's connection_exception class (08...), admin_shutdown, crash_shutdown, cannot_connect_now
 * (57P01..57P03), and mysql2's lost or killed connections and server shutdown.
 */
const DRIVER_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);

const DRIVER_MESSAGES =
  /Connection terminated|not queryable|connection is in closed state|Connection lost|server has gone away|Lost connection to (MySQL|MariaDB)? ?server/i;

/**
 * The database cannot be reached right now: nothing listens, it is shutting down or starting up, or the
 * connection died under a query. A client should retry shortly; the pool reconnects on its own.
 */
export function isDatabaseUnreachable(err: unknown, depth = 0): boolean {
  const e = asDriver(err);
  if (e.code && (SOCKET_ERROR_CODES.has(e.code) || DRIVER_CODES.has(e.code) || /^08/.test(e.code)))
    return true;
  if (DRIVER_MESSAGES.test(e.message ?? '')) return true;
  if (depth >= 3) return false;
  // Wrapped (pg-pool's connection timeout) or aggregated (one attempt per address of a host name).
  return (
    (e.cause !== undefined && isDatabaseUnreachable(e.cause, depth + 1)) ||
    (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnreachable(inner, depth + 1)))
  );
}

/** Seconds a client is told to wait when the database is unreachable: about what a restart takes. */
const UNREACHABLE_RETRY_AFTER_SECONDS = 2;

/**
 * Maps the driver errors that mean "retry shortly" to 503 domain errors: no pooled connection free in
 * time (BUSY), the database unreachable or restarting (DATABASE_UNAVAILABLE). Anything else comes back unchanged.
 */
export function retryLaterIfUnavailable<E>(err: E): E | DomainError {
  if (isPoolTimeout(err)) return busyIfPoolTimeout(err);
  if (!isDatabaseUnreachable(err)) return err;
  return new DomainError('DATABASE_UNAVAILABLE', 'The database is unavailable, retry shortly', {
    retryAfterSeconds: UNREACHABLE_RETRY_AFTER_SECONDS,
  });
}
