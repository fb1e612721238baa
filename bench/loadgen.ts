// The load generator against autocannon on one bare Fastify hello route, in the same run.
// Usage: node bench/loadgen.ts [seconds=5] [connections=50] [rounds=2]
import { fork } from 'node:child_process';
import autocannon from 'autocannon';
import { runLoad } from '../src/loadtest/runner.ts';

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 50);
const rounds = Number(process.argv[4] ?? 2);

// The server lives in its own process so that neither generator shares a thread with it.
const SERVER = `
  const fastify = require('fastify')({ logger: false });
  fastify.get('/', async () => ({ hello: 'world' }));
  fastify.listen({ host: '127.0.0.1', port: 0 }).then(() => process.send(fastify.server.address().port));
`;

async function startServer(): Promise<{ url: string; stop(): void }> {
  const child = fork('-e', [SERVER], { execArgv: ['-e', SERVER], cwd: process.cwd(), stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function withAutocannon(url: string): Promise<number> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return result.requests.total / seconds;
}

async function withLoadgen(url: string, workers: number): Promise<number> {
  const result = await runLoad({
    target: url,
    embedded: false,
    scenario: 'ping',
    executor: 'ramping-vus',
    profile: { start: connections, stages: [{ durationMs: seconds * 1000, target: connections }] },
    profileName: 'bench',
    workers,
    flow: { thinkScale: 0, honorPollHint: false, maxPolls: 1, raceSchedules: 5, paymentSchedules: 5 },
    timeoutMs: 10_000,
    gracefulStopMs: 1000,
    durationCapMs: seconds * 1000 + 5000,
    maxRequests: 50_000_000,
    maxVus: connections,
  });
  const failed = result.totals.count - result.totals.outcomes.s2xx;
  if (failed) console.log(`  (loadgen saw ${failed} non-2xx answers)`);
  return result.totals.count / seconds;
}

const server = await startServer();
try {
  await withAutocannon(server.url); // warm-up: JIT on both sides
  // Interleaved rounds, best of each: a shared 2-core machine is noisy, and both sides get the same luck.
  const best = { cannon: 0, inline: 0, threaded: 0 };
  for (let round = 0; round < rounds; round++) {
    best.cannon = Math.max(best.cannon, await withAutocannon(server.url));
    best.inline = Math.max(best.inline, await withLoadgen(server.url, 0));
    best.threaded = Math.max(best.threaded, await withLoadgen(server.url, 1));
  }
  const row = (name: string, rps: number) =>
    console.log(
      `${name.padEnd(28)} ${rps.toFixed(0).padStart(8)} req/s  ${((rps / best.cannon) * 100).toFixed(0).padStart(4)}%`,
    );
  console.log(
    `GET / on bare Fastify, ${connections} connections, ${seconds} s per run, best of ${rounds} rounds`,
  );
  row('autocannon (baseline)', best.cannon);
  row('loadgen, same thread', best.inline);
  row('loadgen, 1 worker thread', best.threaded);
} finally {
  server.stop();
}
