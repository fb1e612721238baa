import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCI } from './backends.ts';

/** The nats-server binary a test may start privately; TR_TEST_NATS_SERVER overrides the path. */
export const natsServerBinary = process.env.TR_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/**
 * True when the nats-server binary is installed. Outside CI an absent binary makes the caller skip
 * (the reason is printed); in CI it throws, so the suite fails instead of skipping.
 */
export function natsServerInstalled(): boolean {
  if (existsSync(natsServerBinary)) return true;
  const reason = `nats-server binary not found at ${natsServerBinary}`;
  if (inCI) throw new Error(`${reason} (CI=true: a real backend must be up, not skipped)`);
  console.log(`# skipping private nats-server suite: ${reason}`);
  return false;
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const live = new Set<ChildProcess>();
// A test process that dies without its after() hooks must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * A nats-server with JetStream of a test's own: one port and one storage directory for its whole
 * life, so stop() then start() is a real restart that keeps the streams on disk.
 */
export class NatsServerProcess {
  readonly storeDir: string;
  #port = 0;
  #child: ChildProcess | undefined;
  #output = '';

  constructor() {
    this.storeDir = mkdtempSync(join(tmpdir(), 'ticketrush-nats-'));
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server (on a free port the first time, the same port afterwards) and waits until it is ready. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.#child) throw new Error('nats-server is already running');
    this.#port ||= await freePort();
    this.#output = '';
    const child = spawn(
      natsServerBinary,
      ['-a', '127.0.0.1', '-p', String(this.#port), '-js', '-sd', this.storeDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.#child = child;
    live.add(child);
    child.once('exit', () => {
      live.delete(child);
      if (this.#child === child) this.#child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.#output += chunk.toString();
        if (this.#output.includes('Server is ready')) settle();
      };
      const onExit = (code: number | null, signal: string | null) =>
        settle(new Error(`nats-server exited during start-up (${code ?? signal})`));
      const onError = (err: Error) => settle(err);
      const timer = setTimeout(
        () => settle(new Error(`nats-server not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const settle = (err?: Error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        if (!err) return resolve();
        child.kill('SIGKILL');
        reject(new Error(`${err.message}; its output:\n${this.#output}`));
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  /** SIGTERM, then waits for the process to exit (SIGKILL after timeoutMs). */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server if running and removes its storage. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
