import { CompiledQuery, type InsertQueryBuilder, sql, type TransactionBuilder } from 'kysely';
import { DomainError, isDomainError } from '../domain/errors.ts';
import type { Database, Db } from './database.ts';
import { isRetryableConflict, retryLaterIfUnavailable } from './errors.ts';
import { inOneSync } from './prepared-statements.ts';
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
export function inTransaction<T>(database: Database, fn: (trx: Db) => Promise<T>): Promise<T> {
  return retryingConflicts(() => readCommittedTransaction(database).execute(fn));
}

/**
 * Runs statements as one READ COMMITTED transaction sent in a single round trip (needs the
 * `statementBatches` or `statementsBehindOneSync` capability), retried like inTransaction; resolves each
 * statement's result, in order (rows, or a batch's status for a statement without rows).
 */
export function inOneRoundTrip(database: Database, compiled: readonly CompiledQuery[]): Promise<unknown[]> {
  if (!database.capabilities.statementBatches) return behindOneSync(database, compiled);
  // READ COMMITTED without a statement of its own: every session of the pool is (createMysql, database.ts).
  const batch = CompiledQuery.raw(
    ['start transaction', ...compiled.map((c) => c.sql), 'commit'].join(';\n'),
    compiled.flatMap((c) => c.parameters),
  );
  return retryingConflicts(() =>
    database.db.connection().execute(async (conn) => {
      try {
        const { rows } = await conn.executeQuery(batch);
        return (rows as unknown[]).slice(1, -1);
      } catch (err) {
        // The server stops at the failing statement and leaves the transaction open on this connection.
        await sql`rollback`.execute(conn).catch(() => {});
        throw err;
      }
    }),
  );
}

/**
 * Runs one statement that is a whole transaction by itself (a stored procedure's CALL, or PostgreSQL's
 * data-modifying statement outside a transaction), retried like inTransaction; resolves its rows, or a
 * procedure's result sets (a procedure rolls back before a failure reaches here).
 */
export function inOneCall(database: Database, call: CompiledQuery): Promise<unknown[]> {
  return retryingConflicts(async () => (await database.db.executeQuery(call)).rows as unknown[]);
}

/**
 * The statements behind one Sync: one implicit transaction, READ COMMITTED as every session of the pool is
 * (createPostgres, database.ts), with no BEGIN or COMMIT to send or run. A failed statement rolls back the ones
 * before it and the ones after it are skipped.
 */
function behindOneSync(database: Database, compiled: readonly CompiledQuery[]): Promise<unknown[]> {
  if (!database.capabilities.statementsBehindOneSync)
    throw new Error(`${database.dialect} sends one statement at a time`);
  return retryingConflicts(
    async () => (await database.db.executeQuery(inOneSync(compiled))).rows as unknown[],
  );
}

/** Runs a whole transaction again after a deadlock or serialization failure, a bounded number of times. */
async function retryingConflicts<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (isDomainError(err)) throw err;
      // A lost connection is not retried here: its COMMIT may have landed, and only the client's key can tell.
      if (!isRetryableConflict(err)) throw retryLaterIfUnavailable(err);
      if (n >= MAX_ATTEMPTS) {
        retryStats.exhausted++;
        throw new DomainError('CONFLICT_RETRY_EXHAUSTED', 'Too much contention; retry shortly', {
          retryAfterSeconds: 1,
        });
      }
      retryStats.retries++;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * n));
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
  const insert = trx.insertInto(table).values(row as any);
  const result = await skippingDuplicate(database, insert).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** The INSERT, made to do nothing when its key exists. */
export function skippingDuplicate<DB, TB extends keyof DB, O>(
  database: Database,
  insert: InsertQueryBuilder<DB, TB, O>,
): InsertQueryBuilder<DB, TB, O> {
  return database.capabilities.onConflictDoNothing
    ? insert.onConflict((oc) => oc.doNothing())
    : insert.ignore();
}
