import type { IdempotencyBegin, IdempotencyStore } from '../domain/idempotency.ts';
import type { Database } from './database.ts';
import { insertIgnoringDuplicate } from './transaction.ts';

const PENDING = 0;

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
      return { state: 'replay', statusCode: Number(row.status_code), response: JSON.parse(row.response) };
    },

    async complete(scope, key, statusCode, response) {
      await db
        .updateTable('idempotency_keys')
        .set({ status_code: statusCode, response: JSON.stringify(response) })
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
