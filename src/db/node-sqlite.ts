import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

type Param = null | number | bigint | string | Uint8Array;

/** Adapts Node's built-in node:sqlite to the shape Kysely's SqliteDialect expects. */
export function openNodeSqlite(path: string): SqliteDatabase {
  const db = new DatabaseSync(path);
  // Whether a statement returns rows is asked once: columns() builds a descriptor per column on every call.
  const cache = new Map<string, { stmt: StatementSync; reader: boolean }>();
  const prepare = (sql: string): { stmt: StatementSync; reader: boolean } => {
    let entry = cache.get(sql);
    if (!entry) {
      const stmt = db.prepare(sql);
      entry = { stmt, reader: stmt.columns().length > 0 };
      if (cache.size > 500) cache.clear();
      cache.set(sql, entry);
    }
    return entry;
  };
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const { stmt, reader } = prepare(sql);
      return {
        reader,
        all: (params: ReadonlyArray<unknown>) => stmt.all(...(params as Param[])) as unknown[],
        run: (params: ReadonlyArray<unknown>) => {
          const r = stmt.run(...(params as Param[]));
          return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
        },
        iterate: (params: ReadonlyArray<unknown>) =>
          stmt.iterate(...(params as Param[])) as IterableIterator<unknown>,
      };
    },
  };
}

/** Runs raw statements (pragmas) on a freshly opened database. */
export function execSqlite(db: SqliteDatabase, sql: string): void {
  db.prepare(sql).run([]);
}
