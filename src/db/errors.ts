import { DomainError } from '../domain/errors.ts';

/** Recognises driver errors across node:sqlite, pg and mysql2, so callers can speak in domain terms. */
interface DriverError {
  code?: string;
  errno?: number;
  errcode?: number;
  message?: string;
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
