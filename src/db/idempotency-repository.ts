import type { IdempotencyBegin, IdempotencyStore, IdempotentOutcome } from '../domain/idempotency.ts';
import type { Database } from './database.ts';
import { insertIgnoringDuplicate } from './transaction.ts';

/** status_code: 0 while the first request runs, 1 once its outcome is stored in `response`. */
const PENDING = 0;
const COMPLETE = 1;

/** Rows written before outcomes were stored as such hold an HTTP status and body instead; they age out in 24 h. */
function storedOutcome(statusCode: number, response: string): IdempotentOutcome {
  const stored = JSON.parse(response);
  if (statusCode === COMPLETE) return stored;
  return statusCode < 300 ? { ok: true, value: stored } : { ok: false, error: stored.error };
}

export function idempotencyRepository(database: Database): IdempotencyStore {
  const { db } = database;
  const claim = (scope: string, key: string, hash: string, now: number, expiresAt: number) =>
    insertIgnoringDuplicate(database, db, 'idempotency_keys', {
      scope,
      idem_key: key,
      request_hash: hash,
      status_code: PENDING,
      response: '',
      created_at: now,
      expires_at: expiresAt,
    });

  return {
    async begin(scope, key, hash, now, expiresAt): Promise<IdempotencyBegin> {
      if (await claim(scope, key, hash, now, expiresAt)) return { state: 'new' };
      const row = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('scope', '=', scope)
        .where('idem_key', '=', key)
        .executeTakeFirst();
      if (!row || Number(row.expires_at) <= now) {
        await db
          .deleteFrom('idempotency_keys')
          .where('scope', '=', scope)
          .where('idem_key', '=', key)
          .where('expires_at', '<=', now)
          .execute();
        return (await claim(scope, key, hash, now, expiresAt)) ? { state: 'new' } : { state: 'in_progress' };
      }
      if (row.request_hash !== hash) return { state: 'mismatch' };
      if (Number(row.status_code) === PENDING) return { state: 'in_progress' };
      return { state: 'replay', outcome: storedOutcome(Number(row.status_code), row.response) };
    },

    async complete(scope, key, outcome) {
      await db
        .updateTable('idempotency_keys')
        .set({ status_code: COMPLETE, response: JSON.stringify(outcome) })
        .where('scope', '=', scope)
        .where('idem_key', '=', key)
        .execute();
    },

    async abandon(scope, key) {
      await db
        .deleteFrom('idempotency_keys')
        .where('scope', '=', scope)
        .where('idem_key', '=', key)
        .execute();
    },

    async purgeExpired(now) {
      const r = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows ?? 0);
    },
  };
}
