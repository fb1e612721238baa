import type { TransactionBuilder } from 'kysely';
import { DomainError, isDomainError } from '../domain/errors.ts';
import type { Database, Db } from './database.ts';
import { isRetryableConflict, retryLaterIfUnavailable } from './errors.ts';
import type { Tables } from './types.ts';

const MAX_ATTEMPTS = 5;

export interface RetryStats {
  retries: number;
  exhausted: number;
}

export const retryStats: RetryStats = { retries: 0, exhausted: 0 };

/**
 * Runs fn in one short transaction. Deadlocks and serialization failures are retried a bounded
 * number of times (then 503); a pool that cannot hand out a connection in time is a 503 BUSY, and a
 * database that cannot be reached is a 503 DATABASE_UNAVAILABLE.
 */
export async function inTransaction<T>(database: Database, fn: (trx: Db) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readCommittedTransaction(database).execute(fn);
    } catch (err) {
      if (isDomainError(err)) throw err;
      // A lost connection is not retried here: its COMMIT may have landed, and only the client's key can tell.
      if (!isRetryableConflict(err)) throw retryLaterIfUnavailable(err);
      if (attempt >= MAX_ATTEMPTS) {
        retryStats.exhausted++;
        throw new DomainError('CONFLICT_RETRY_EXHAUSTED', 'Too much contention; retry shortly', {
          retryAfterSeconds: 1,
        });
      }
      retryStats.retries++;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

/**
 * READ COMMITTED wherever the database lets us choose: a re-read after a conditional update that lost
 * sees the winner's commit.
 */
export function readCommittedTransaction(database: Database): TransactionBuilder<Tables> {
  const trx = database.db.transaction();
  return database.capabilities.isolationLevels ? trx.setIsolationLevel('read committed') : trx;
}

/** INSERT that does nothing when the key exists; resolves true when a row was inserted. */
export async function insertIgnoringDuplicate<T extends keyof Tables>(
  database: Database,
  trx: Db,
  table: T,
  row: Record<string, unknown>,
): Promise<boolean> {
  // biome-ignore lint/suspicious/noExplicitAny: the row is checked by the caller's table type
  const base = trx.insertInto(table).values(row as any);
  const result = database.capabilities.onConflictDoNothing
    ? await base.onConflict((oc) => oc.doNothing()).executeTakeFirst()
    : await base.ignore().executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}
