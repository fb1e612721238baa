import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** `ticketrush serve` as a child process of the test, on 127.0.0.1 and a port of its own. */
export interface ServerProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The tail of stdout and stderr, for assertion messages. */
  output(): string;
  /**
   * SIGTERM (to the whole process group with `group`, as Ctrl+C or systemd do), then SIGKILL if it has
   * not exited within the grace period; resolves with the exit code.
   */
  stop(opts?: { group?: boolean }): Promise<number | null>;
}

export interface SpawnOptions {
  args?: string[];
  /** Its own process group, so a test can signal the primary and its workers at once. */
  detached?: boolean;
  readyTimeoutMs?: number;
}

const repoRoot = join(import.meta.dirname, '..', '..');
const STOP_GRACE_MS = 20_000;

/** Kills of children still running; run if the test process exits with them alive. */
const running = new Set<() => void>();
process.once('exit', () => {
  for (const kill of running) kill();
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The parent's environment without TR_* settings or the test runner's own marker. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('TR_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  return env;
}

/** Starts `node src/cli.ts serve` and resolves once GET /health/ready answers 200. */
export async function spawnServer(
  name: string,
  env: Record<string, string>,
  opts: SpawnOptions = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/cli.ts', 'serve', ...(opts.args ?? [])], {
    cwd: repoRoot,
    // Readiness and metrics on the API port unless a test asks for the internal one.
    env: { ...cleanEnv(), TR_INTERNAL_PORT: 'main', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  const signal = (sig: NodeJS.Signals, group = false) => {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  const killAll = () => signal('SIGKILL', opts.detached);
  running.add(killAll);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(killAll);
      resolve(code);
    }),
  );
  const server: ServerProcess = {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => `--- ${name} stdout\n${stdout.slice(-4000)}\n--- ${name} stderr\n${stderr.slice(-4000)}`,
    stop: async ({ group = false } = {}) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      signal('SIGTERM', group);
      const force = setTimeout(killAll, STOP_GRACE_MS);
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
  try {
    await waitReady(server, opts.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await server.stop({ group: opts.detached });
    throw err;
  }
  return server;
}

async function waitReady(server: ServerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null)
      throw new Error(`${server.name} exited before it was ready\n${server.output()}`);
    try {
      const res = await fetch(`${server.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${server.name} was not ready within ${timeoutMs} ms\n${server.output()}`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
