import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCI } from './backends.ts';

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

/**
 * True when every binary is installed. Outside CI an absent one makes the caller skip (the reason is
 * printed); in CI it throws, so the suite fails instead of skipping.
 */
export function binariesInstalled(suite: string, paths: string[]): boolean {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const reason = `${missing.join(', ')} not found`;
  if (inCI) throw new Error(`${reason} (CI=true: a real backend must be up, not skipped)`);
  console.log(`# skipping ${suite}: ${reason}`);
  return false;
}

/** How to run one kind of server privately: its command line for a port and a data directory. */
export interface ServerKind {
  name: string;
  /** Prepares the data directory once, before the first start (initdb, mariadb-install-db). */
  init?(dir: string, owner: Owner | undefined): void;
  command(port: number, dir: string): { file: string; args: string[] };
  /** A line of its output that says it accepts connections. */
  ready: RegExp;
  /** The signal that shuts it down the way an operator's restart does (SIGTERM unless said). */
  stopSignal?: NodeJS.Signals;
  /** A system user to run as when the test runs as root (PostgreSQL refuses to run as root). */
  runAs?: string;
}

export interface Owner {
  uid: number;
  gid: number;
}

function ownerOf(user: string): Owner {
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

const live = new Set<ChildProcess>();
// A test process that dies without its after() hooks must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * A server of a test's own: one port and one data directory for its whole life, so stop() then
 * start() is a real restart that keeps what the server keeps on disk.
 */
export class PrivateServer {
  readonly kind: ServerKind;
  readonly dir: string;
  readonly #owner: Owner | undefined;
  #port = 0;
  #initialised = false;
  #child: ChildProcess | undefined;
  #output = '';

  constructor(kind: ServerKind) {
    this.kind = kind;
    this.dir = mkdtempSync(join(tmpdir(), `ticketrush-${kind.name}-`));
    this.#owner = kind.runAs && process.getuid?.() === 0 ? ownerOf(kind.runAs) : undefined;
    if (this.#owner) chownSync(this.dir, this.#owner.uid, this.#owner.gid);
  }

  get port(): number {
    return this.#port;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The output since the last start, for assertion messages. */
  get output(): string {
    return this.#output;
  }

  /** Starts the server (on a free port the first time, the same port afterwards) and waits until it is ready. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.#child) throw new Error(`${this.kind.name} is already running`);
    if (!this.#initialised) {
      this.kind.init?.(this.dir, this.#owner);
      this.#initialised = true;
    }
    this.#port ||= await freePort();
    this.#output = '';
    const { file, args } = this.kind.command(this.#port, this.dir);
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: this.dir,
      ...(this.#owner ?? {}),
    });
    this.#child = child;
    live.add(child);
    child.once('exit', () => {
      live.delete(child);
      if (this.#child === child) this.#child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.#output += chunk.toString();
        if (this.kind.ready.test(this.#output)) settle();
      };
      const onExit = (code: number | null, signal: string | null) =>
        settle(new Error(`${this.kind.name} exited during start-up (${code ?? signal})`));
      const onError = (err: Error) => settle(err);
      const timer = setTimeout(
        () => settle(new Error(`${this.kind.name} not ready within ${timeoutMs} ms`)),
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

  /** Shuts it down with its stop signal, then waits for the process to exit (SIGKILL after timeoutMs). */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(this.kind.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server if running and removes its data. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
