// A statement sent on every hold or payment is planned once per connection instead of on every call:
// on PostgreSQL, planning the payment statement costs more than running it.
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { CompiledQuery, type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { BoundedMap } from '../domain/bounded-map.ts';

const MARK = /^\/\* prepared (\w+) \*\//;

/** Marks a hot statement for preparation. A driver that cannot prepare it sends it as it is. */
export function prepared<T>(name: string, statement: RawBuilder<T>): RawBuilder<T> {
  return sql<T>`/* prepared ${sql.raw(name)} */ ${statement}`;
}

const PIPELINE = '/* pipeline */';

/**
 * The statements as one query for a connection whose driver pipelines (PreparingPgClient): they are written
 * together and answered in order, in one round trip. Its rows are each statement's rows, in order; it fails
 * with the first statement that failed, after every one has been answered.
 */
export function pipelined(statements: readonly CompiledQuery[]): CompiledQuery {
  return CompiledQuery.raw(PIPELINE, [statements]);
}

const names = new BoundedMap<string, string>(1000);

/** The text's hash in the name: a statement whose text changes is a new one, never a clash. */
function statementName(mark: string, text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `${mark}_${createHash('sha1').update(text).digest('base64url').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * A pg client that prepares marked statements under a name derived from their text, so a
 * connection parses and plans each one once; everything else goes through unchanged.
 */
export class PreparingPgClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; this passes them all through
  override query(config: any, values?: any, callback?: any): any {
    if (config === PIPELINE && callback === undefined) return this.#pipeline(values[0]);
    const name = typeof config === 'string' && Array.isArray(values) ? MARK.exec(config)?.[1] : undefined;
    if (name === undefined) return super.query(config, values, callback);
    return super.query({ name: statementName(name, config), text: config, values }, callback);
  }

  async #pipeline(statements: readonly CompiledQuery[]): Promise<{ command: string; rows: unknown[][] }> {
    // pg writes every queued query at once in pipeline mode; the connection is this caller's alone meanwhile.
    const mode = this as unknown as { pipeline: boolean; connection: { stream: Writable } };
    mode.pipeline = true;
    try {
      // Corked, the statements leave in one write: a system call per statement costs more than the statement.
      const { stream } = mode.connection;
      stream.cork();
      let sent: Promise<pg.QueryResult>[];
      try {
        sent = statements.map((s) => this.query(s.sql, [...s.parameters]) as Promise<pg.QueryResult>);
      } finally {
        stream.uncork();
      }
      const answers = await Promise.allSettled(sent);
      const failed = answers.find((a) => a.status === 'rejected');
      if (failed) throw failed.reason;
      return {
        command: 'PIPELINE',
        rows: answers.map((a) => (a as PromiseFulfilledResult<pg.QueryResult>).value.rows),
      };
    } finally {
      mode.pipeline = false;
    }
  }
}

type MysqlCallback = (err: Error | null, result?: unknown, fields?: unknown) => void;
export interface MysqlConnection {
  query(sql: unknown, values?: unknown, cb?: MysqlCallback): unknown;
  execute(sql: string, values: unknown[], cb: MysqlCallback): unknown;
}

/**
 * A mysql2 connection that sends marked statements as server-side prepared statements (binary protocol): the
 * driver prepares each text once per connection and the server parses it once; everything else goes through
 * unchanged.
 */
export function preparingMysqlConnection(connection: MysqlConnection): void {
  const query = connection.query.bind(connection);
  connection.query = (sql, values, cb) => {
    if (typeof sql === 'string' && Array.isArray(values) && cb !== undefined && MARK.test(sql))
      return connection.execute(sql, values, cb);
    return query(sql, values, cb);
  };
}
