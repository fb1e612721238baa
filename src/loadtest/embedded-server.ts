import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

/** A ticketrush started for one run when no --target is given. */
export interface EmbeddedServer {
  url: string;
  close(): Promise<void>;
}

// The runner knows the server only as a command, never as code: `ticketrush serve` in a child process.
const SERVE = [fileURLToPath(new URL('../cli.ts', import.meta.url)), 'serve'];
const READY_TIMEOUT_MS = 180_000; // the first start migrates and fills the demo data
const STOP_TIMEOUT_MS = 20_000; // the server forces its own exit after 15 s of draining

/** Starts `ticketrush serve` on a free loopback port and resolves once /health/ready answers 200. */
export async function startEmbeddedServer(extraEnv: Record<string, string> = {}): Promise<EmbeddedServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, SERVE, {
    // Quiet by default: the server's info logs would bury the progress line and the table.
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      // The runner probes readiness and scrapes metrics on the one port it knows.
      TR_INTERNAL_PORT: 'main',
      TR_WORKERS: '1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: it stops once, when told by this process, not twice on Ctrl+C.
    detached: true,
  });
  // The server's own lines go to stderr, so stdout stays the report.
  child.stdout?.pipe(process.stderr, { end: false });
  child.stderr?.pipe(process.stderr, { end: false });
  const untie = tieToThisProcess(child);
  const close = async () => {
    untie();
    await stop(child);
  };
  try {
    await untilReady(url, child);
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}

/** The server must not outlive this process: it is stopped on exit and on a stopping signal. */
function tieToThisProcess(child: ChildProcess): () => void {
  const onExit = () => child.kill('SIGKILL');
  const onSignal = (signal: NodeJS.Signals) => {
    untie();
    child.kill('SIGTERM'); // it drains on its own
    process.kill(process.pid, signal); // this process then ends as the signal meant
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const untie = () => {
    process.off('exit', onExit);
    for (const signal of signals) process.off(signal, onSignal);
  };
  process.once('exit', onExit);
  for (const signal of signals) process.once(signal, onSignal);
  return untie;
}

/** A port on 127.0.0.1 that nothing listens on at the moment of asking. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  if (!address || typeof address === 'string') throw new Error('no free port on 127.0.0.1');
  return address.port;
}

/** Resolves once `url`/health/ready answers 200; fails when the child exits first or READY_TIMEOUT_MS passes. */
export async function untilReady(url: string, child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`ticketrush serve exited (${code ?? signal}) before it was ready`);
  });
  exited.catch(() => undefined); // observed below; a late exit after readiness is not an error here
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await isReady(url)) return;
    await Promise.race([delay(100), exited]);
  }
  throw new Error(`ticketrush serve did not get ready at ${url} within ${READY_TIMEOUT_MS / 1000} s`);
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await request(`${url}/health/ready`, { headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** SIGTERM (the server drains), then SIGKILL after STOP_TIMEOUT_MS. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
