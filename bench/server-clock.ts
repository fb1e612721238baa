// CPU time a database server spent on one database's connections, read on this machine from
// /proc/<pid or thread id>/schedstat: PostgreSQL's backends (processes), MariaDB's connection threads.
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';

/** Nanoseconds each of this database's server processes (PostgreSQL) or threads (MariaDB) has run so far. */
export type ServerClock = () => Promise<Map<number, number>>;

export function serverClockOf(dialect: string, db: Db): ServerClock {
  const ids =
    dialect === 'postgres'
      ? sql<{ id: number }>`select pid as id from pg_stat_activity where datname = current_database()`
      : sql<{ id: number }>`select tid as id from information_schema.processlist where db = database()`;
  return async () => {
    const ran = new Map<number, number>();
    if (dialect === 'sqlite') return ran;
    for (const { id } of (await ids.execute(db)).rows) {
      try {
        ran.set(Number(id), Number(readFileSync(`/proc/${id}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // Not on this machine, or gone: not counted.
      }
    }
    return ran;
  };
}

/**
 * Server CPU per operation (µs) between two readings; a connection opened in between counts from zero, one
 * closed in between is lost (none with a warm pool). NaN when nothing was readable.
 */
export function serverMicrosPer(before: Map<number, number>, after: Map<number, number>, n: number): number {
  let nanos = 0;
  for (const [id, ns] of after) nanos += ns - (before.get(id) ?? 0);
  return after.size ? nanos / 1000 / n : Number.NaN;
}
