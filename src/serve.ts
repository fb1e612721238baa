import cluster from 'node:cluster';
import { loadConfig } from './config.ts';
import { ensureWebBuild } from './http/web/build.ts';
import { startServer, WORKER_LISTENING } from './main.ts';

/** `ticketrush serve`: one process, or a primary that forks TR_WORKERS processes sharing the port. */
export async function serveCommand(): Promise<number> {
  const config = loadConfig();
  if (config.workers > 1 && cluster.isPrimary) {
    if (config.queue === 'memory') {
      throw new Error(
        'TR_WORKERS: more than one process needs a shared waiting room; set TR_QUEUE=redis://host:port (the memory store lives inside one process)',
      );
    }
    if (config.db.startsWith('sqlite:')) {
      throw new Error(
        'TR_WORKERS: more than one process needs a server database; set TR_DB=postgres://... or mysql://...',
      );
    }
    // Workers find the pages built instead of each building them at once.
    await ensureWebBuild();
    return forkWorkers(config.workers);
  }
  await startServer({ handleSignals: true });
  return 0;
}

async function forkWorkers(n: number): Promise<number> {
  // The first worker migrates and seeds alone; the rest start after it is listening.
  const first = cluster.fork();
  await new Promise<void>((resolve, reject) => {
    // A worker with a socket of its own (main.ts) does not tell the primary through the cluster's 'listening'
    // event: it sends WORKER_LISTENING once its ports are open.
    first.on('message', (m: unknown) => {
      if (m === WORKER_LISTENING) resolve();
    });
    first.once('exit', (code) => reject(new Error(`worker 1 exited with code ${code} before listening`)));
  });
  for (let i = 1; i < n; i++) cluster.fork({ TR_SEED_ON_START: 'false' });
  let stopping = false;
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      console.error(`ticketrush: worker ${worker.process.pid} exited with ${code}; starting another`);
      cluster.fork({ TR_SEED_ON_START: 'false' });
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    });
  }
  return 0;
}
