import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool as createMysqlPool } from 'mysql2';
import pg from 'pg';
import { redactUrl } from '../redact.ts';
import { execSqlite, openNodeSqlite } from './node-sqlite.ts';
import { boundMysqlPool, timePgPool } from './pool-timing.ts';
import { PreparingPgClient } from './prepared-statements.ts';
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
  /** UPDATE a JOIN b SET a.x = ..., b.y = ...: one statement changes rows of several tables (MySQL, MariaDB). */
  multiTableUpdate: boolean;
}

export const DIALECT_CAPABILITIES: Readonly<Record<DialectName, DialectCapabilities>> = {
  sqlite: {
    isolationLevels: false,
    rowLocks: false,
    onConflictDoNothing: true,
    // INTEGER PRIMARY KEY is the rowid; AUTOINCREMENT keeps a deleted seq from being reused.
    autoIncrementKey: { type: 'integer', autoIncrement: true },
    dataModifyingCte: false,
    statementBatches: false,
    multiTableUpdate: false,
  },
  postgres: {
    isolationLevels: true,
    rowLocks: true,
    onConflictDoNothing: true,
    autoIncrementKey: { type: 'bigserial', autoIncrement: false },
    dataModifyingCte: true,
    statementBatches: false,
    multiTableUpdate: false,
  },
  mysql: {
    isolationLevels: true,
    rowLocks: true,
    onConflictDoNothing: false,
    autoIncrementKey: { type: 'bigint', autoIncrement: true },
    dataModifyingCte: false,
    statementBatches: true,
    multiTableUpdate: true,
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
  close(): Promise<void>;
}

export interface PoolOptions {
  max: number;
  acquireTimeoutMs: number;
  /** Called with the seconds each connection checkout waited (PostgreSQL, MySQL). */
  onWait?: (seconds: number) => void;
  /**
   * Called when a pooled connection dies outside a query (the database restarted, the network dropped it).
   * The pool replaces it on a later checkout; without a listener the driver's `error` event would end the process.
   */
  onConnectionError?: (err: Error) => void;
}

const defaultPool: PoolOptions = { max: 10, acquireTimeoutMs: 2000 };

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
  if (dialect === 'sqlite') return createSqlite(url);
  if (dialect === 'postgres') return createPostgres(url, pool);
  return createMysql(url, pool);
}

function createSqlite(url: string): Database {
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const handle = openNodeSqlite(path);
  execSqlite(handle, 'PRAGMA journal_mode = WAL');
  execSqlite(handle, 'PRAGMA synchronous = NORMAL');
  execSqlite(handle, 'PRAGMA busy_timeout = 5000');
  execSqlite(handle, 'PRAGMA foreign_keys = ON');
  let waiting = 0;
  let inUse = 0;
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: handle }) });
  return {
    db,
    dialect: 'sqlite',
    capabilities: DIALECT_CAPABILITIES.sqlite,
    describe: url,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    // node:sqlite is one synchronous connection; Kysely serialises access to it.
    poolStats: () => ({ size: 1, inUse, waiting }),
    close: async () => {
      waiting = inUse = 0;
      await db.destroy();
    },
  };
}

function createPostgres(url: string, opts: PoolOptions): Database {
  const pool = new pg.Pool({
    Client: PreparingPgClient as unknown as new () => pg.ClientBase,
    connectionString: url,
    max: opts.max,
    connectionTimeoutMillis: opts.acquireTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  timePgPool(pool, { onWait: opts.onWait });
  // Every client reports on itself, also between the query that failed (57P01) and its release, when no query
  // is there to receive the socket's ECONNRESET. The pool repeats an idle client's error: already reported.
  pool.on('connect', (client) => client.on('error', opts.onConnectionError ?? (() => {})));
  pool.on('error', () => {});
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    capabilities: DIALECT_CAPABILITIES.postgres,
    describe: redactUrl(url),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({
      size: pool.totalCount,
      inUse: pool.totalCount - pool.idleCount,
      waiting: pool.waitingCount,
    }),
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
  boundMysqlPool(pool, { acquireTimeoutMs: opts.acquireTimeoutMs, onWait: opts.onWait });
  // mysql2 listens once per connection, to drop it from the pool; a second error would be unhandled.
  const onConnectionError = opts.onConnectionError ?? (() => {});
  pool.on('connection', (connection) => connection.on('error', onConnectionError));
  const db = new Kysely<Tables>({ dialect: new MysqlDialect({ pool }) });
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
        waiting: internals._connectionQueue?.length ?? 0,
      };
    },
    close: () => db.destroy(),
  };
}
