import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

type Param = null | number | bigint | string | Uint8Array;

/** Adapts Node's built-in node:sqlite to the shape Kysely's SqliteDialect expects. */
export function openNodeSqlite(path: string): SqliteDatabase {
  const db = new DatabaseSync(path);
  const cache = new Map<string, StatementSync>();
  const prepare = (sql: string): StatementSync => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (cache.size > 500) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  };
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = prepare(sql);
      return {
        reader: stmt.columns().length > 0,
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
