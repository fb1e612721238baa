import { DomainError } from '../domain/errors.ts';
import { SOCKET_ERROR_CODES } from '../socket-errors.ts';

/**
 * Replies of a Redis that is there but cannot serve yet: loading its data after a restart, failing over; on a
 * cluster, a redirection still pointing at a master that is gone once the client stopped following it.
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|MOVED|ASK)\b/;

/** ioredis's messages for a connection (or, on a cluster, every node or the slot map) gone or too slow to answer. */
const CONNECTION_MESSAGE =
  /Connection is closed|Command timed out|Stream isn't writeable|max retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|Too many Cluster redirections|None of startup nodes is available|Failed to refresh slots cache|Cluster isn't ready/i;

/** Redis cannot be reached or cannot serve right now; ioredis keeps reconnecting on its own. */
export function isRedisUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string; message?: string };
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    (e.code !== undefined && SOCKET_ERROR_CODES.has(e.code)) ||
    CONNECTION_MESSAGE.test(e.message ?? '') ||
    TRANSIENT_REPLY.test(e.message ?? '')
  );
}

/** Seconds a client is told to wait while Redis is away: about what a restart takes. */
const RETRY_AFTER_SECONDS = 2;

/** The waiting room fails closed while Redis is away: 503 QUEUE_UNAVAILABLE; any other error is unchanged. */
export function queueUnavailableIfDown(err: unknown): unknown {
  if (!isRedisUnavailable(err)) return err;
  return new DomainError('QUEUE_UNAVAILABLE', 'The waiting room is unavailable, retry shortly', {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}
