// A load test against a real stack in one command, on this machine's servers:
// a fresh database (PostgreSQL or MariaDB/MySQL: created here, migrated and filled with the demo catalog by the
// server, dropped at the end), a waiting room of its own on Redis (its keys deleted at the end), NATS
// JetStream for events when TR_EVENTS names it, `ticketrush serve` with two workers (TR_WORKERS), then
// `ticketrush loadtest` against it with the arguments given, the server's /metrics scraped, the operator key
// handed over in the environment. A sale's seats stay sold in its database, so every run starts from a fresh
// one: runs are comparable, and nothing is left behind.
// Usage: node scripts/stack-loadtest.ts postgres|mysql [loadtest options...]
//   npm run loadtest:stack -- postgres --profile onsale --sale-opens-in 30s    (the on-sale spike)
//   npm run loadtest:stack -- mysql --scenario mixed --profile seed             (the seed's own profile)
// The servers are the test suite's (TR_TEST_POSTGRES, TR_TEST_MYSQL, TR_TEST_REDIS): loopback only.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { freePort, stop, untilReady } from '../src/loadtest/embedded-server.ts';
import { newOperatorKey } from '../src/loadtest/onsale-sale.ts';
import { redactUrl } from '../src/redact.ts';
import { serverUrls } from '../test/support/backends.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/databases.ts';
import { dropQueueKeys } from '../test/support/redis-keys.ts';

const USAGE = 'usage: node scripts/stack-loadtest.ts postgres|mysql [loadtest options...]';
const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');

const [dialect, ...loadtestArgs] = process.argv.slice(2);
if (dialect !== 'postgres' && dialect !== 'mysql') {
  console.error(USAGE);
  process.exit(2);
}
if (loadtestArgs.some((a) => a === '--target' || a.startsWith('--target='))) {
  console.error('stack-loadtest starts its own server: leave out --target');
  process.exit(2);
}
for (const [name, url] of Object.entries(serverUrls)) {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    console.error(`stack-loadtest runs on this machine's servers only; the ${name} URL names ${host}`);
    process.exit(2);
  }
}

/** Prints how long the wait has lasted every 10 s until `work` settles: starting can take a while on a busy machine. */
async function withProgress<T>(what: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(
    () => console.error(`${what}… ${Math.round((Date.now() - started) / 1000)} s`),
    10_000,
  );
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

let database: TestDatabase | undefined;
// The run's waiting room: a queue name of its own (TR_QUEUE_NAME), which every key the server writes carries,
// so its keys are deleted at the end and nobody else's are touched.
const room = `stack-${randomBytes(6).toString('hex')}`;
let server: ChildProcess | undefined;
let log: WriteStream | undefined;
let exitCode = 1;
try {
  console.error(`stack-loadtest: creating a fresh ${dialect} database`);
  database = await createTestDatabase(dialect, { max: 1, acquireTimeoutMs: 10_000 });
  await database.database.close();
  const [port, internalPort] = [await freePort(), await freePort()];
  const adminKey = process.env.TR_ADMIN_BOOTSTRAP_KEY ?? newOperatorKey();
  const resultsDir = 'loadtest-results';
  mkdirSync(resultsDir, { recursive: true });
  const logFile = join(resultsDir, `stack-${dialect}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const env = {
    ...process.env,
    TR_DB: database.url,
    TR_QUEUE: serverUrls.redis,
    TR_QUEUE_NAME: room,
    TR_SEED_ON_START: 'true',
    TR_WORKERS: process.env.TR_WORKERS ?? '2',
    // The on-sale's draw starts 20 s before the opening, as it was measured (the default is longer).
    TR_DRAW_LEAD_SECONDS: process.env.TR_DRAW_LEAD_SECONDS ?? '20',
    TR_ADMIN_BOOTSTRAP_KEY: adminKey,
    HOST: '127.0.0.1',
    PORT: String(port),
    TR_INTERNAL_HOST: '127.0.0.1',
    TR_INTERNAL_PORT: String(internalPort),
    TR_LOG_FORMAT: 'json',
  };
  log = createWriteStream(logFile);
  server = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout?.pipe(log, { end: false });
  server.stderr?.pipe(log, { end: false });
  const target = `http://127.0.0.1:${port}`;
  const internal = `http://127.0.0.1:${internalPort}`;
  console.error(
    `stack-loadtest: ticketrush serve (TR_WORKERS=${env.TR_WORKERS}) on ${target}, ` +
      `${dialect} database ${new URL(database.url).pathname.slice(1)}, waiting room ${room} ` +
      `on ${redactUrl(serverUrls.redis)}; its log: ${logFile}`,
  );
  await withProgress(
    'stack-loadtest: waiting for the server (migrations, the demo catalog)',
    untilReady(internal, server),
  );
  const loadtest = spawn(
    process.execPath,
    [CLI, 'loadtest', '--target', target, '--server-metrics', `${internal}/metrics`, ...loadtestArgs],
    // The operator key goes in the environment, where the runner reads it, not on a command line anyone can list.
    { stdio: 'inherit', env: { ...process.env, TR_ADMIN_BOOTSTRAP_KEY: adminKey } },
  );
  const stopLoadtest = () => loadtest.kill('SIGINT');
  process.once('SIGINT', stopLoadtest);
  const [code] = await once(loadtest, 'exit');
  process.off('SIGINT', stopLoadtest);
  exitCode = code ?? 1;
} catch (err) {
  console.error(`stack-loadtest: ${(err as Error).message}`);
} finally {
  if (server) await stop(server);
  if (log) await new Promise((resolve) => log?.end(resolve));
  await dropQueueKeys(room).catch((err) =>
    console.error(`stack-loadtest: the waiting room's keys not removed: ${err.message}`),
  );
  await database
    ?.drop()
    .catch((err) => console.error(`stack-loadtest: database not dropped: ${err.message}`));
}
process.exit(exitCode);
