import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { binaries } from './private-backends.ts';
import { binariesInstalled, freePort, PrivateServer } from './private-server.ts';

const run = promisify(execFile);

/** redis-cli, which assigns the slots (`--cluster create`); TR_TEST_REDIS_CLI overrides the path. */
export const redisCliBinary = process.env.TR_TEST_REDIS_CLI ?? '/usr/bin/redis-cli';

/** Free ports, all different: each node needs one for clients and one for the cluster bus. */
async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * A Redis Cluster of a test's own: `masters` redis-server processes with --cluster-enabled, each on free ports
 * with its own temporary directory, slots assigned by `redis-cli --cluster create` (no replicas).
 */
export class RedisCluster {
  readonly nodes: PrivateServer[];

  private constructor(nodes: PrivateServer[]) {
    this.nodes = nodes;
  }

  /**
   * Starts the nodes, creates the cluster and waits until every node says cluster_state:ok and knows every
   * master; on any failure it stops what it started and throws.
   */
  static async start(masters = 3, timeoutMs = 60_000): Promise<RedisCluster> {
    // A free port is only free when it was picked: another process may bind it before the node does (a client's
    // ephemeral port, most often a bus port). Such a start is tried again on new ports, at most twice more.
    for (let attempt = 1; ; attempt++) {
      try {
        return await RedisCluster.#startOnce(masters, timeoutMs);
      } catch (err) {
        if (attempt === 3 || !/Address already in use/.test(String(err))) throw err;
      }
    }
  }

  static async #startOnce(masters: number, timeoutMs: number): Promise<RedisCluster> {
    const busPorts = await distinctPorts(masters);
    const nodes = busPorts.map(
      (busPort) =>
        new PrivateServer({
          name: 'redis-cluster',
          command: (port, dir) => ({
            file: binaries.redisServer,
            args: [
              '--port',
              String(port),
              '--cluster-port',
              String(busPort),
              '--bind',
              '127.0.0.1',
              '--dir',
              dir,
              '--save',
              '',
              '--appendonly',
              'no',
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              '5000',
              // As docs/operations.md advises: a master lost stops its own rooms, not every sale on the cluster.
              '--cluster-require-full-coverage',
              'no',
            ],
          }),
          ready: /Ready to accept connections/,
        }),
    );
    const cluster = new RedisCluster(nodes);
    try {
      const deadline = Date.now() + timeoutMs;
      await Promise.all(nodes.map((n) => n.start(timeoutMs)));
      await run(
        redisCliBinary,
        [
          '--cluster',
          'create',
          ...nodes.map((n) => `127.0.0.1:${n.port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { timeout: timeoutMs },
      );
      await cluster.#untilConverged(deadline);
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** The TR_QUEUE form of this cluster. */
  get url(): string {
    return `redis-cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  /** A plain client on one node, for CLUSTER commands. */
  client(node = 0): Redis {
    return new Redis({
      host: '127.0.0.1',
      port: this.nodes[node]?.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
  }

  /** Every node must see the whole slot map, or a client that asks it first would be sent round in circles. */
  async #untilConverged(deadline: number): Promise<void> {
    const clients = this.nodes.map((_, i) => this.client(i));
    try {
      for (;;) {
        const views = await Promise.all(
          clients.map(async (c) => {
            const info = String(await c.call('CLUSTER', 'INFO'));
            const slots = (await c.call('CLUSTER', 'SLOTS')) as unknown[];
            return /cluster_state:ok/.test(info) && slots.length === this.nodes.length;
          }),
        );
        if (views.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error('redis cluster did not reach cluster_state:ok in time');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      for (const c of clients) c.disconnect();
    }
  }

  /** Stops nodes (every one by default), keeping ports and data (nodes.conf): restart() brings them back. */
  async stopNodes(ports?: number[]): Promise<void> {
    await Promise.all(this.nodes.filter((n) => !ports || ports.includes(n.port)).map((n) => n.stop()));
  }

  /** Starts stopped nodes again and waits until the cluster is whole. */
  async restart(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.nodes.filter((n) => !n.running).map((n) => n.start(timeoutMs)));
    await this.#untilConverged(deadline);
  }

  /** Stops every node and removes their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}

/**
 * A fresh cluster for a suite, or undefined when redis-server or redis-cli is missing outside CI (the reason is
 * printed). In CI a missing binary or a cluster that does not start fails the suite.
 */
export async function redisClusterFor(suite: string): Promise<RedisCluster | undefined> {
  if (!binariesInstalled(suite, [binaries.redisServer, redisCliBinary])) return undefined;
  return RedisCluster.start();
}
