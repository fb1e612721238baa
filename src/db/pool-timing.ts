import { POOL_ACQUIRE_TIMEOUT } from './errors.ts';

type PgConnectCallback = (err: Error | undefined, client: unknown, done: unknown) => void;
interface PgLikePool {
  connect(cb?: PgConnectCallback): Promise<unknown> | undefined;
}

type MysqlCallback = (err: Error | null, connection?: { release(): void }) => void;
interface MysqlLikePool {
  getConnection(cb: MysqlCallback): void;
}

export interface PoolTimingOptions {
  /** Called with the seconds each checkout waited, failed ones included. */
  onWait?: (seconds: number) => void;
}

/** Times every pg checkout (Kysely calls pool.connect() once per query or transaction; pool.query() passes a callback). */
export function timePgPool(pool: PgLikePool, opts: PoolTimingOptions): void {
  const connect = pool.connect.bind(pool);
  pool.connect = (cb?: PgConnectCallback) => {
    const started = performance.now();
    const waited = () => opts.onWait?.((performance.now() - started) / 1000);
    if (cb)
      return connect((err, client, done) => {
        waited();
        cb(err, client, done);
      });
    return (connect() as Promise<unknown>).finally(waited);
  };
}

/**
 * Bounds and times mysql2 checkouts, which have no acquire timeout of their own: after
 * `acquireTimeoutMs` the caller gets a POOL_ACQUIRE_TIMEOUT error and a connection that
 * turns up later goes straight back to the pool.
 */
export function boundMysqlPool(
  pool: MysqlLikePool,
  opts: PoolTimingOptions & { acquireTimeoutMs: number },
): void {
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = (cb: MysqlCallback) => {
    const started = performance.now();
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      opts.onWait?.((performance.now() - started) / 1000);
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
      opts.onWait?.((performance.now() - started) / 1000);
      cb(err, connection);
    });
  };
}
