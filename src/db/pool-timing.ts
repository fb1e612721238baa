import type { DatabaseConnection, Dialect, Driver } from 'kysely';
import type { AcquireQueue } from './acquire-queue.ts';
import { POOL_ACQUIRE_TIMEOUT } from './errors.ts';

/**
 * The dialect with every connection checkout (Kysely makes one per query or transaction) passing through
 * `queue` first, which orders and times them. The queue has as many permits as the pool has connections,
 * so the pool itself hands out a connection at once and the queue is where requests really wait.
 */
export function queuedDialect(dialect: Dialect, queue: AcquireQueue): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => queuedDriver(dialect.createDriver(), queue),
  };
}

function queuedDriver(driver: Driver, queue: AcquireQueue): Driver {
  const permits = new WeakMap<DatabaseConnection, () => void>();
  const queued: Driver = {
    init: () => driver.init(),
    async acquireConnection() {
      const release = await queue.acquire();
      try {
        const connection = await driver.acquireConnection();
        permits.set(connection, release);
        return connection;
      } catch (err) {
        release();
        throw err;
      }
    },
    beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
    commitTransaction: (connection) => driver.commitTransaction(connection),
    rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
    async releaseConnection(connection) {
      try {
        await driver.releaseConnection(connection);
      } finally {
        permits.get(connection)?.();
        permits.delete(connection);
      }
    },
    destroy: () => driver.destroy(),
  };
  if (driver.savepoint) queued.savepoint = driver.savepoint.bind(driver);
  if (driver.rollbackToSavepoint) queued.rollbackToSavepoint = driver.rollbackToSavepoint.bind(driver);
  if (driver.releaseSavepoint) queued.releaseSavepoint = driver.releaseSavepoint.bind(driver);
  return queued;
}

type MysqlCallback = (err: Error | null, connection?: { release(): void }) => void;
interface MysqlLikePool {
  getConnection(cb: MysqlCallback): void;
}

/**
 * Bounds mysql2 checkouts, which have no acquire timeout of their own: after `acquireTimeoutMs` the caller
 * gets a POOL_ACQUIRE_TIMEOUT error and a connection that turns up later goes straight back to the pool.
 * A backstop behind the acquire queue, for a connection that cannot be opened.
 */
export function boundMysqlPool(pool: MysqlLikePool, opts: { acquireTimeoutMs: number }): void {
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = (cb: MysqlCallback) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      const err = Object.assign(new Error(`no database connection within ${opts.acquireTimeoutMs} ms`), {
        code: POOL_ACQUIRE_TIMEOUT,
      });
      cb(err);
    }, opts.acquireTimeoutMs);
    getConnection((err, connection) => {
      if (settled) {
        connection?.release();
        return;
      }
      settled = true;
      clearTimeout(timer);
      cb(err, connection);
    });
  };
}
