import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool as createMysqlPool } from 'mysql2';
import pg from 'pg';
import { boundMysqlPool, timePgPool } from '../observability/pool.ts';
import { execSqlite, openNodeSqlite } from './node-sqlite.ts';
import type { Tables } from './types.ts';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';
export type Db = Kysely<Tables>;

export interface PoolStats {
  size: number;
  inUse: number;
  waiting: number;
}

export interface Database {
  db: Db;
  dialect: DialectName;
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
}

const defaultPool: PoolOptions = { max: 10, acquireTimeoutMs: 2000 };

// BIGINT columns hold epoch milliseconds and point sums, all within Number's safe range.
pg.types.setTypeParser(20, (v) => Number(v));

export function dialectOf(url: string): DialectName {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:/.test(url)) return 'postgres';
  if (/^(mysql|mariadb):/.test(url)) return 'mysql';
  throw new Error(`TR_DB: expected sqlite:<path>, postgres://... or mysql://..., got ${JSON.stringify(url)}`);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
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
    connectionString: url,
    max: opts.max,
    connectionTimeoutMillis: opts.acquireTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  timePgPool(pool, { onWait: opts.onWait });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on the next checkout.
  });
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    describe: redact(url),
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
  });
  boundMysqlPool(pool, { acquireTimeoutMs: opts.acquireTimeoutMs, onWait: opts.onWait });
  const db = new Kysely<Tables>({ dialect: new MysqlDialect({ pool }) });
  const internals = pool as unknown as MysqlPoolInternals;
  return {
    db,
    dialect: 'mysql',
    describe: redact(url),
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
