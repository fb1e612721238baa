import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { clusterSeeds } from '../redis-url.ts';

/** A single Redis server or a Redis Cluster: every command the waiting room sends exists on both. */
export type RedisClient = Redis | Cluster;

/**
 * The fail-fast policy every waiting-room connection shares: while Redis is away a request fails within a quarter
 * of a second (503 QUEUE_UNAVAILABLE), never hangs: a queued command gives up at the next failed reconnect (at most
 * 250 ms apart) or after 2 s, and a command cut off mid-flight is not sent again (a script must not run twice).
 */
const failFast: RedisOptions = {
  enableAutoPipelining: true,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt) => Math.min(attempt * 50, 250),
  commandTimeout: 2000,
};

/**
 * A client for a redis:// URL or a redis-cluster:// list of nodes. On a cluster each command goes to the master of
 * its key's slot (every key of one waiting room shares a hash tag, so one room lives on one master); redirections
 * during a failover or a resharding are followed, then a command fails like one to an absent server.
 */
export function connectRedis(url: string): RedisClient {
  const seeds = clusterSeeds(url);
  if (!seeds) return new Redis(url, failFast);
  const { nodes, username, password } = seeds;
  const cluster = new Cluster(nodes, {
    enableAutoPipelining: true,
    scaleReads: 'master',
    // A moved slot is followed at once; a master failing over, a cluster down or a key migrating is retried for
    // a quarter of a second (5 x 50 ms), like a single server's reconnect, then the command fails.
    maxRedirections: 5,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 50, 250),
    redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 2000, username, password },
  });
  // While no node answers, ioredis keeps commands in its offline queue with no time limit; give them up at each
  // failed reconnect instead, as a single server's client does (its flushQueue is not in the typings).
  const flushable = cluster as unknown as { flushQueue?: (err: Error) => void };
  cluster.on('reconnecting', () => flushable.flushQueue?.(new Error('Connection is closed.')));
  return cluster;
}

/**
 * A client connected on first use, for a few reads and writes beside the waiting room (a shared secret, a learned
 * figure): a process that never needs it opens no connection. Its connection errors reach the caller of a
 * command, not ioredis's "Unhandled error event" lines.
 */
export function lazyRedis(url: string): { client(): RedisClient; close(): void } {
  let redis: RedisClient | undefined;
  return {
    client: () => {
      if (!redis) {
        redis = connectRedis(url);
        redis.on('error', () => {});
      }
      return redis;
    },
    close: () => {
      redis?.disconnect();
      redis = undefined;
    },
  };
}
