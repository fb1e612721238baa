import cluster from 'node:cluster';
import { type App, buildApp, buildInternalApp } from './app.ts';
import { compose } from './compose.ts';
import { type Config, loadConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';

export interface RunningServer {
  url: string;
  /** Where /metrics and /health/ready answer: url itself unless TR_INTERNAL_PORT gives them a port. */
  internalUrl: string;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  port?: number;
  /** Install SIGINT/SIGTERM handlers that close gracefully. */
  handleSignals?: boolean;
}

/** What a cluster worker sends the primary once it listens on every port it serves. */
export const WORKER_LISTENING = 'ticketrush:listening';

/**
 * A cluster worker on Linux listens on a socket of its own (SO_REUSEPORT), so the kernel spreads new connections
 * evenly over the workers. The shared socket the primary hands out (round robin to whichever worker is free to
 * take one) left one of two workers with 243 of 352 connections in an on-sale run, and 47 % busy against 12 %.
 */
function ownListeningSocket(port: number): { exclusive?: boolean; reusePort?: boolean } {
  // Port 0 asks for a free port: only the shared socket gives every worker the same one.
  const own = cluster.isWorker && process.platform === 'linux' && port !== 0;
  return own ? { exclusive: true, reusePort: true } : {};
}

/** Composition root: config -> dependencies -> app -> listen. */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const config: Config = loadConfig({ ...process.env, ...opts.env });
  if (opts.port !== undefined) config.port = opts.port;
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const composition = await compose(config, {
    prepareDatabase: true,
    log: (line) => logger.info(line),
    logger,
  });
  if (config.identity.mode === 'none')
    logger.warn(
      "TR_IDENTITY=none: anyone may take any user's place in line by naming the user id; set TR_IDENTITY=jwt for a real sale",
    );
  // A fixed pool is open before the first request: a burst never waits for new connections.
  const { database } = composition.services;
  try {
    await database.openKept();
  } catch (err) {
    await composition.close().catch(() => {});
    const { min, max } = config.dbPool;
    throw new Error(
      `TR_DB_POOL_MIN: cannot open ${min === 'max' ? max : min} connection(s) to ${database.describe} at start: ${(err as Error).message}`,
    );
  }
  const app = await buildApp({ config, services: composition.services, logger });
  app.server.maxConnections = config.http.maxConnections;
  await app.listen({ host: config.host, port: config.port, ...ownListeningSocket(config.port) });
  const url = urlOf(app, config.host);
  let internal: App | undefined;
  if (typeof config.internal.port === 'number') {
    internal = await buildInternalApp({ config, services: composition.services, logger });
    await internal.listen({ host: config.internal.host, port: config.internal.port });
  }
  const internalUrl = internal ? urlOf(internal, config.internal.host) : url;
  composition.start();
  if (cluster.isWorker) process.send?.(WORKER_LISTENING);
  logger.info(
    {
      url,
      internalUrl,
      db: composition.services.database.describe,
      queue: config.queue,
      identity: config.identity.mode,
    },
    'ticketrush listening',
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await app.close(); // stops accepting, waits for in-flight requests
      await internal?.close();
      await composition.close();
    })();
    return closing;
  };
  if (opts.handleSignals) {
    let signalled = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (signalled) {
          // A second signal stops a single process at once. A cluster worker gets every signal twice when
          // its process group is signalled (Ctrl+C, systemd), directly and from the primary: keep draining.
          if (!cluster.isWorker) process.exit(1);
          return;
        }
        signalled = true;
        logger.info({ signal }, 'shutting down');
        const force = setTimeout(() => process.exit(1), 15_000);
        force.unref();
        close().then(
          () => process.exit(0),
          (err) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      });
    }
  }
  return { url, internalUrl, close };
}

function urlOf(app: App, configuredHost: string): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = configuredHost.includes(':') ? `[${configuredHost}]` : configuredHost;
  return `http://${host}:${port}`;
}
