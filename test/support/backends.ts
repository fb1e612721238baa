import net from 'node:net';
import { type TestContext, test } from 'node:test';

/** In CI an unreachable backend fails the suite; elsewhere it skips with a printed reason. */
export const inCI = process.env.CI === 'true';

// An absent server refuses at once; the timeout only covers a machine too loaded to answer quickly.
export function portOpen(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const serverUrls = {
  postgres: process.env.TR_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  mysql: process.env.TR_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306/test',
  redis: process.env.TR_TEST_REDIS ?? 'redis://127.0.0.1:6379',
  nats: process.env.TR_TEST_NATS ?? 'nats://127.0.0.1:4222',
} as const;

export type ServerName = keyof typeof serverUrls;

/**
 * Resolves to true when the server answers. Outside CI, an absent server makes the caller skip
 * (the reason is printed); in CI it throws, so the suite fails instead of skipping.
 */
export async function serverAvailable(name: ServerName): Promise<boolean> {
  const url = new URL(serverUrls[name]);
  const defaults: Record<ServerName, number> = { postgres: 5432, mysql: 3306, redis: 6379, nats: 4222 };
  const ok = await portOpen(url.hostname, Number(url.port || defaults[name]));
  if (ok) return true;
  const reason = `${name} is not reachable at ${serverUrls[name]}`;
  if (inCI) throw new Error(`${reason} (CI=true: a real backend must be up, not skipped)`);
  console.log(`# skipping ${name} suite: ${reason}`);
  return false;
}

/** Skip a node:test test with a reason when the server is absent (outside CI only). */
export async function needServer(t: TestContext, name: ServerName): Promise<boolean> {
  const ok = await serverAvailable(name);
  if (!ok) t.skip(`${name} not reachable`);
  return ok;
}

/**
 * `test`, registered only where it applies (a design limit, not a missing server): a configuration it does not
 * apply to has nothing to skip, in CI or anywhere else.
 */
export function testWhere(applies: boolean): (name: string, fn: (t: TestContext) => Promise<void>) => void {
  return applies
    ? (name, fn) => {
        test(name, fn);
      }
    : () => {};
}
