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

const ONE_SYNC = '/* one sync */';

/**
 * The statements as one query for a connection that sends them behind one Sync (PreparingPgClient):
 * PostgreSQL runs them as one implicit transaction, committed at the Sync, with no BEGIN or COMMIT of its own,
 * and answers them in one write. Its rows are each statement's rows, in order. A failed statement rolls back
 * those before it, the ones after it are skipped, and the query fails with its error.
 */
export function inOneSync(statements: readonly CompiledQuery[]): CompiledQuery {
  return CompiledQuery.raw(ONE_SYNC, [statements]);
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
    if (config === ONE_SYNC && callback === undefined) return this.#inOneSync(values[0]);
    const name = typeof config === 'string' && Array.isArray(values) ? MARK.exec(config)?.[1] : undefined;
    if (name === undefined) return super.query(config, values, callback);
    return super.query({ name: statementName(name, config), text: config, values }, callback);
  }

  #inOneSync(statements: readonly CompiledQuery[]): Promise<{ command: string; rows: unknown[][] }> {
    return new Promise((resolve, reject) => {
      const batch = new SyncedBatch(
        statements.map((s) => {
          const name = MARK.exec(s.sql)?.[1];
          return { name: name && statementName(name, s.sql), text: s.sql, values: s.parameters };
        }),
        (err, rows) => (err ? reject(err) : resolve({ command: 'SYNC', rows: rows as unknown[][] })),
      );
      super.query(batch as unknown as pg.Submittable);
    });
  }
}

/** What a batch writes with: pg's connection (its wire protocol writer)... */
const WIRE_METHODS = ['parse', 'bind', 'describe', 'execute', 'sync'] as const;
/** ...and reads rows with: pg's Result. */
const RESULT_METHODS = ['addFields', 'parseRow'] as const;

/**
 * Whether this pg has the internals a batch behind one Sync uses: they are not pg's public API, so a pg that moved
 * them runs statements one by one (in a transaction) instead of failing every hold and payment.
 */
export function wireBatchSupportedBy(driver: {
  Connection?: { prototype: object };
  Result?: { prototype: object };
}): boolean {
  const has = (proto: object | undefined, methods: readonly string[]) =>
    proto !== undefined && methods.every((m) => typeof (proto as Record<string, unknown>)[m] === 'function');
  return has(driver.Connection?.prototype, WIRE_METHODS) && has(driver.Result?.prototype, RESULT_METHODS);
}

export const pgWireBatchSupported: boolean = wireBatchSupportedBy(
  pg as unknown as Parameters<typeof wireBatchSupportedBy>[0],
);

/** The parts of pg's connection (its wire protocol writer) a batch uses. */
interface WireConnection {
  stream: Writable;
  parsedStatements: Record<string, string>;
  parse(q: { name: string; text: string }): void;
  bind(b: { statement: string; values: (string | Buffer | null)[] }): void;
  describe(d: { type: 'P'; name: string }): void;
  execute(e: { portal: string }): void;
  sync(): void;
  on(event: 'parseComplete', listener: () => void): void;
  off(event: 'parseComplete', listener: () => void): void;
}

interface BatchStatement {
  /** Prepared once per connection under this name; unnamed ones are parsed each time. */
  name: string | undefined;
  text: string;
  values: readonly unknown[];
}

function wireValue(v: unknown): string | Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'object') throw new TypeError('a statement sent behind one Sync binds scalars only');
  return String(v);
}

/**
 * A pg Submittable: Parse (once per connection for a named statement), Bind, Describe and Execute of each
 * statement, then one Sync, in one write.
 */
class SyncedBatch {
  readonly #statements: readonly BatchStatement[];
  readonly #done: (err: Error | null, rows?: unknown[][]) => void;
  readonly #rows: unknown[][] = [];
  #result = new pg.Result('object', pg.types);
  #connection: WireConnection | undefined;
  /** Names whose Parse is on the wire, in order: each ParseComplete answers the first. */
  readonly #parsing: { name: string; text: string }[] = [];
  #finished = false;

  constructor(statements: readonly BatchStatement[], done: (err: Error | null, rows?: unknown[][]) => void) {
    this.#statements = statements;
    this.#done = done;
  }

  readonly #parsed = () => {
    const p = this.#parsing.shift();
    if (p?.name && this.#connection) this.#connection.parsedStatements[p.name] = p.text;
  };

  /** pg calls this when the connection is free; an error returned is given to handleError. */
  submit(connection: WireConnection): Error | null {
    this.#connection = connection;
    if (typeof connection.parsedStatements !== 'object' || connection.parsedStatements === null)
      return new Error(
        'this pg keeps no parsedStatements on its connection: statements behind one Sync are off',
      );
    let values: (string | Buffer | null)[][];
    try {
      values = this.#statements.map((s) => s.values.map(wireValue));
    } catch (err) {
      return err as Error;
    }
    connection.on('parseComplete', this.#parsed);
    connection.stream.cork();
    try {
      this.#statements.forEach((s, i) => {
        const statement = s.name ?? '';
        if (s.name === undefined || connection.parsedStatements[s.name] !== s.text) {
          connection.parse({ name: statement, text: s.text });
          this.#parsing.push({ name: statement, text: s.text });
        }
        connection.bind({ statement, values: values[i] });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '' });
      });
      connection.sync();
    } finally {
      connection.stream.uncork();
    }
    return null;
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    (this.#result as unknown as { addFields(f: unknown[]): void }).addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    const result = this.#result as unknown as { parseRow(f: unknown[]): unknown; rows: unknown[] };
    result.rows.push(result.parseRow(msg.fields));
  }

  handleCommandComplete(): void {
    this.#rows.push(this.#result.rows);
    this.#result = new pg.Result('object', pg.types);
  }

  handleEmptyQuery(): void {
    this.handleCommandComplete();
  }

  handleError(err: Error): void {
    this.#finish(err);
  }

  handleReadyForQuery(): void {
    this.#finish(null);
  }

  #finish(err: Error | null): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#connection?.off('parseComplete', this.#parsed);
    if (err) this.#done(err);
    else this.#done(null, this.#rows);
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
