import type {
  IdempotencyBegin,
  IdempotencyClaim,
  IdempotencyStore,
  IdempotentOutcome,
  NewKey,
} from '../domain/idempotency.ts';
import { deleteInBatches } from './batched-delete.ts';
import type { Database, Db } from './database.ts';
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

const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): boolean =>
  Number(r.numUpdatedRows ?? r.numDeletedRows ?? 0) > 0;

/**
 * Stores the answer of a claim still pending; with `trx` inside the work's own transaction. False when the
 * claim is no longer this one (it was given up and the key taken over).
 */
export async function completeIdempotencyKey(
  trx: Db,
  claim: IdempotencyClaim,
  outcome: IdempotentOutcome,
): Promise<boolean> {
  const r = await trx
    .updateTable('idempotency_keys')
    .set({ status_code: COMPLETE, response: JSON.stringify(outcome) })
    .where('scope', '=', claim.scope)
    .where('idem_key', '=', claim.key)
    .where('status_code', '=', PENDING)
    .where('created_at', '=', claim.claimedAt)
    .executeTakeFirst();
  return changed(r);
}

/** A key's row as a claim writes it: pending, claimed at `claim.claimedAt`. */
export const newKeyRow = (claim: IdempotencyClaim, k: NewKey) => ({
  scope: claim.scope,
  idem_key: claim.key,
  request_hash: k.requestHash,
  caller_digest: k.callerDigest,
  status_code: PENDING,
  response: '',
  created_at: claim.claimedAt,
  expires_at: k.expiresAt,
});

/** Claims a key not stored yet, pending and claimed at `claim.claimedAt`; false when the key is stored already. */
export function claimNewKey(
  database: Database,
  trx: Db,
  claim: IdempotencyClaim,
  k: NewKey,
): Promise<boolean> {
  return insertIgnoringDuplicate(database, trx, 'idempotency_keys', newKeyRow(claim, k));
}

export function idempotencyRepository(database: Database): IdempotencyStore {
  const { db } = database;

  return {
    async begin(request, now, expiresAt, staleBefore): Promise<IdempotencyBegin> {
      const { scope, key, requestHash } = request;
      const claimed: IdempotencyBegin = { state: 'new', claim: { scope, key, claimedAt: now } };
      const claim = () =>
        claimNewKey(database, db, claimed.claim, {
          requestHash,
          callerDigest: request.callerDigest ?? null,
          expiresAt,
        });
      if (await claim()) return claimed;
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
        return (await claim()) ? claimed : { state: 'in_progress' };
      }
      const status = Number(row.status_code);
      if (status === PENDING && Number(row.created_at) <= staleBefore) {
        const taken = await db
          .updateTable('idempotency_keys')
          .set({
            request_hash: requestHash,
            caller_digest: request.callerDigest ?? null,
            created_at: now,
            expires_at: expiresAt,
          })
          .where('scope', '=', scope)
          .where('idem_key', '=', key)
          .where('status_code', '=', PENDING)
          .where('created_at', '=', Number(row.created_at))
          .executeTakeFirst();
        return changed(taken) ? claimed : { state: 'in_progress' };
      }
      if (row.request_hash !== requestHash) return { state: 'mismatch' };
      if (status === PENDING) return { state: 'in_progress' };
      return { state: 'replay', outcome: storedOutcome(status, row.response) };
    },

    complete: (claim, outcome) => completeIdempotencyKey(db, claim, outcome),

    async abandon(claim) {
      await db
        .deleteFrom('idempotency_keys')
        .where('scope', '=', claim.scope)
        .where('idem_key', '=', claim.key)
        .where('status_code', '=', PENDING)
        .where('created_at', '=', claim.claimedAt)
        .execute();
    },

    async findAnswer(request, now) {
      const row = await db
        .selectFrom('idempotency_keys')
        .select(['status_code', 'response'])
        .where('scope', '=', request.scope)
        .where('idem_key', '=', request.key)
        .where('request_hash', '=', request.requestHash)
        .where('caller_digest', '=', request.callerDigest)
        .where('status_code', '<>', PENDING)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row ? storedOutcome(Number(row.status_code), row.response) : undefined;
    },

    purgeExpired: (now) =>
      deleteInBatches(async (batchSize) => {
        const expired = await db
          .selectFrom('idempotency_keys')
          .select(['scope', 'idem_key'])
          .where('expires_at', '<=', now)
          .orderBy('expires_at')
          .limit(batchSize)
          .execute();
        if (expired.length === 0) return 0;
        const r = await db
          .deleteFrom('idempotency_keys')
          .where('expires_at', '<=', now)
          .where((eb) =>
            eb(
              eb.refTuple('scope', 'idem_key'),
              'in',
              expired.map((k) => eb.tuple(k.scope, k.idem_key)),
            ),
          )
          .executeTakeFirst();
        return Number(r.numDeletedRows ?? 0);
      }),
  };
}
