import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool as createMysqlPool, type PoolConnection } from 'mysql2';
import pg from 'pg';
import { redactUrl } from '../redact.ts';
import { type AcquireClass, AcquireQueue } from './acquire-queue.ts';
import { execSqlite, openNodeSqlite } from './node-sqlite.ts';
import { boundMysqlPool, queuedDialect } from './pool-timing.ts';
import {
  type MysqlConnection,
  PreparingPgClient,
  pgWireBatchSupported,
  preparingMysqlConnection,
} from './prepared-statements.ts';
import type { Tables } from './types.ts';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';
export type Db = Kysely<Tables>;

export interface PoolStats {
  size: number;
  inUse: number;
  waiting: number;
}

/** What a dialect's SQL and driver can do. Code branches on these, never on the dialect's name (as Kysely's adapters do). */
export interface DialectCapabilities {
  /** SET TRANSACTION ISOLATION LEVEL is accepted; SQLite has no such statement (it is always serializable). */
  isolationLevels: boolean;
  /**
   * SELECT ... FOR UPDATE NOWAIT locks rows against other connections. False for SQLite: one connection
   * serves the process, so there is no one to lock out, and a long transaction would stall every request.
   */
  rowLocks: boolean;
  /**
   * A lock on a number, held until the transaction ends, that writes nothing (PostgreSQL's advisory transaction
   * locks). A row lock writes its row (and the WAL) on PostgreSQL; where this exists, a user's holds are ordered by
   * it instead of by locking the user's row.
   */
  keyLocks: boolean;
  /** INSERT ... ON CONFLICT DO NOTHING; without it, INSERT IGNORE (MySQL). */
  onConflictDoNothing: boolean;
  /** Column type of a key the database numbers itself in insert order, and whether it needs AUTO_INCREMENT. */
  autoIncrementKey: { type: 'bigserial' | 'bigint' | 'integer'; autoIncrement: boolean };
  /**
   * WITH x AS (INSERT/UPDATE ... RETURNING ...) in one statement: changes to several tables are one
   * atomic statement, with no BEGIN/COMMIT round trips (PostgreSQL).
   */
  dataModifyingCte: boolean;
  /** Several `;`-separated statements, parameters included, travel in one round trip (mysql2 multipleStatements). */
  statementBatches: boolean;
  /**
   * Several statements, each with its own parameters, are written at once behind one Sync and answered in
   * order: they are one implicit transaction that travels in one round trip, with no BEGIN or COMMIT
   * (PostgreSQL's extended protocol).
   */
  statementsBehindOneSync: boolean;
  /**
   * A varchar compares byte for byte. False for MySQL/MariaDB, whose default collation folds case and ignores
   * trailing spaces: keys that must match exactly are varbinary there.
   */
  bytewiseVarchar: boolean;
  /** Index names are per table, so DROP INDEX names the table (MySQL, MariaDB); elsewhere per schema. */
  indexNamesPerTable: boolean;
  /**
   * Holds and payments run as stored procedures (migration 0010), called as prepared statements: nothing is
   * parsed per call (MariaDB, where a text batch of the same statements was parsed on every hold).
   */
  storedProcedures: boolean;
}

export const DIALECT_CAPABILITIES: Readonly<Record<DialectName, DialectCapabilities>> = {
  sqlite: {
    isolationLevels: false,
    rowLocks: false,
    keyLocks: false,
    onConflictDoNothing: true,
    // INTEGER PRIMARY KEY is the rowid; AUTOINCREMENT keeps a deleted seq from being reused.
    autoIncrementKey: { type: 'integer', autoIncrement: true },
    dataModifyingCte: false,
    statementBatches: false,
    statementsBehindOneSync: false,
    bytewiseVarchar: true,
    indexNamesPerTable: false,
    storedProcedures: false,
  },
  postgres: {
    isolationLevels: true,
    rowLocks: true,
    keyLocks: true,
    onConflictDoNothing: true,
    autoIncrementKey: { type: 'bigserial', autoIncrement: false },
    dataModifyingCte: true,
    statementBatches: false,
    statementsBehindOneSync: true,
    bytewiseVarchar: true,
    indexNamesPerTable: false,
    storedProcedures: false,
  },
  mysql: {
    isolationLevels: true,
    rowLocks: true,
    keyLocks: false,
    onConflictDoNothing: false,
    autoIncrementKey: { type: 'bigint', autoIncrement: true },
    dataModifyingCte: false,
    statementBatches: true,
    statementsBehindOneSync: false,
    bytewiseVarchar: false,
    indexNamesPerTable: true,
    storedProcedures: true,
  },
};

export interface Database {
  db: Db;
  /** Which adapter this is, to name it; logic reads `capabilities`, never this. */
  dialect: DialectName;
  capabilities: DialectCapabilities;
  /** The URL without credentials, for logs. */
  describe: string;
  ping(): Promise<void>;
  poolStats(): PoolStats;
  /** Opens the connections the pool keeps (PoolOptions.min) now rather than on the first checkouts that need them. */
  openKept(): Promise<void>;
  /** Where checkouts wait for a connection, most urgent first; it times every wait. */
  acquireQueue: AcquireQueue;
  close(): Promise<void>;
}

export interface PoolOptions {
  max: number;
  /**
   * Connections kept open however long they idle, opened by `openKept` ('max': all; absent: 0, each opened on
   * demand and, on PostgreSQL, closed after idling 30 s; mysql2's pool closes none). A pool that grows during a
   * burst makes the burst wait for connections (and the database for new sessions) at its worst moment: a sale's
   * first holds found 4 of 10 open.
   */
  min?: number | 'max';
  acquireTimeoutMs: number;
  /** CoDel target and interval of the acquire queue (src/db/acquire-queue.ts). */
  sojourn?: { targetMs: number; intervalMs: number };
  /** Called with the seconds each connection checkout waited, on every dialect. */
  onWait?: (seconds: number, cls: AcquireClass) => void;
  /**
   * Called when a pooled connection dies outside a query (the database restarted, the network dropped it).
   * The pool replaces it on a later checkout; without a listener the driver's `error` event would end the process.
   */
  onConnectionError?: (err: Error) => void;
}

const defaultPool: PoolOptions = { max: 10, acquireTimeoutMs: 2000 };

/** How many connections a pool keeps open: PoolOptions.min within 0..max. */
const keptOf = (opts: PoolOptions): number =>
  opts.min === 'max' ? opts.max : Math.max(0, Math.min(opts.max, opts.min ?? 0));

/** Checks out `n` connections at once and gives them back: the pool then holds at least `n` open. */
async function openConnections<C>(
  n: number,
  checkout: () => Promise<C>,
  giveBack: (c: C) => void,
): Promise<void> {
  const opened = await Promise.allSettled(Array.from({ length: n }, checkout));
  for (const o of opened) if (o.status === 'fulfilled') giveBack(o.value);
  const failed = opened.find((o) => o.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
export const defaultSojourn = { targetMs: 50, intervalMs: 500 };

function acquireQueueFor(permits: number, opts: PoolOptions): AcquireQueue {
  return new AcquireQueue({
    permits,
    acquireTimeoutMs: opts.acquireTimeoutMs,
    ...(opts.sojourn ?? defaultSojourn),
    onWait: opts.onWait,
  });
}

// BIGINT columns hold epoch milliseconds and point sums, all within Number's safe range.
pg.types.setTypeParser(20, (v) => Number(v));

export function dialectOf(url: string): DialectName {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:/.test(url)) return 'postgres';
  if (/^(mysql|mariadb):/.test(url)) return 'mysql';
  throw new Error(
    `TR_DB: expected sqlite:<path>, postgres://... or mysql://..., got ${JSON.stringify(redactUrl(url))}`,
  );
}

export function createDatabase(url: string, pool: PoolOptions = defaultPool): Database {
  const dialect = dialectOf(url);
  if (dialect === 'sqlite') return createSqlite(url, pool);
  if (dialect === 'postgres') return createPostgres(url, pool);
  return createMysql(url, pool);
}

function createSqlite(url: string, opts: PoolOptions): Database {
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const handle = openNodeSqlite(path);
  execSqlite(handle, 'PRAGMA journal_mode = WAL');
  execSqlite(handle, 'PRAGMA synchronous = NORMAL');
  execSqlite(handle, 'PRAGMA busy_timeout = 5000');
  execSqlite(handle, 'PRAGMA foreign_keys = ON');
  // node:sqlite is one synchronous connection: one permit, so requests queue here by urgency.
  const acquireQueue = acquireQueueFor(1, opts);
  const db = new Kysely<Tables>({
    dialect: queuedDialect(new SqliteDialect({ database: handle }), acquireQueue),
  });
  return {
    db,
    dialect: 'sqlite',
    capabilities: DIALECT_CAPABILITIES.sqlite,
    describe: url,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({ size: 1, inUse: acquireQueue.inUse, waiting: acquireQueue.waiting }),
    openKept: async () => {},
    acquireQueue,
    close: () => db.destroy(),
  };
}

function createPostgres(url: string, opts: PoolOptions): Database {
  const pool = new pg.Pool({
    Client: PreparingPgClient as unknown as new () => pg.ClientBase,
    connectionString: url,
    max: opts.max,
    min: keptOf(opts),
    connectionTimeoutMillis: opts.acquireTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // Every client reports on itself, also between the query that failed (57P01) and its release, when no query
  // is there to receive the socket's ECONNRESET. The pool repeats an idle client's error: already reported.
  const onConnectionError = opts.onConnectionError ?? (() => {});
  pool.on('connect', (client) => {
    client.on('error', onConnectionError);
    // Sent before anything else on the connection. Statements sent behind one Sync (inOneRoundTrip) are an
    // implicit transaction that relies on it, so they need no BEGIN to set their isolation.
    client.query(
      'set session characteristics as transaction isolation level read committed',
      (err: Error | null) => {
        if (err) onConnectionError(err);
      },
    );
  });
  pool.on('error', () => {});
  const acquireQueue = acquireQueueFor(opts.max, opts);
  const db = new Kysely<Tables>({ dialect: queuedDialect(new PostgresDialect({ pool }), acquireQueue) });
  return {
    db,
    dialect: 'postgres',
    // The batch behind one Sync uses pg's internals: a pg without them sends the statements one by one.
    capabilities: { ...DIALECT_CAPABILITIES.postgres, statementsBehindOneSync: pgWireBatchSupported },
    describe: redactUrl(url),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({
      size: pool.totalCount,
      inUse: pool.totalCount - pool.idleCount,
      waiting: acquireQueue.waiting + pool.waitingCount,
    }),
    openKept: () =>
      openConnections(
        keptOf(opts),
        () => pool.connect(),
        (client) => client.release(),
      ),
    acquireQueue,
    close: () => db.destroy(),
  };
}

interface MysqlPoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
}

function createMysql(url: string, opts: PoolOptions): Database {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  const pool = createMysqlPool({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1) || undefined,
    // mysql2 closes no idle connection while maxIdle (default) is the limit: `min` only says how many openKept opens.
    connectionLimit: opts.max,
    connectTimeout: Math.max(opts.acquireTimeoutMs, 1000),
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
    timezone: 'Z',
    charset: 'utf8mb4',
    // Lets a whole booking transaction travel in one round trip; every statement is parameterised.
    multipleStatements: true,
  });
  boundMysqlPool(pool, { acquireTimeoutMs: opts.acquireTimeoutMs });
  // mysql2 listens once per connection, to drop it from the pool; a second error would be unhandled.
  const onConnectionError = opts.onConnectionError ?? (() => {});
  pool.on('connection', (connection) => {
    connection.on('error', onConnectionError);
    preparingMysqlConnection(connection as unknown as MysqlConnection);
    // Sent before anything else on the connection. A transaction sent as one batch (inOneRoundTrip) relies on
    // it, so it needs no statement to set its isolation; MariaDB's default is REPEATABLE READ.
    connection.query('set session transaction isolation level read committed', (err: Error | null) => {
      if (err) onConnectionError(err);
    });
  });
  const acquireQueue = acquireQueueFor(opts.max, opts);
  const db = new Kysely<Tables>({ dialect: queuedDialect(new MysqlDialect({ pool }), acquireQueue) });
  const internals = pool as unknown as MysqlPoolInternals;
  return {
    db,
    dialect: 'mysql',
    capabilities: DIALECT_CAPABILITIES.mysql,
    describe: redactUrl(url),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    poolStats: () => {
      const size = internals._allConnections?.length ?? 0;
      return {
        size,
        inUse: size - (internals._freeConnections?.length ?? 0),
        waiting: acquireQueue.waiting + (internals._connectionQueue?.length ?? 0),
      };
    },
    openKept: () =>
      openConnections(
        keptOf(opts),
        () =>
          new Promise<PoolConnection>((resolve, reject) =>
            pool.getConnection((err, connection) => (err ? reject(err) : resolve(connection))),
          ),
        (connection) => connection.release(),
      ),
    acquireQueue,
    close: () => db.destroy(),
  };
}
