import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import type { LoadResult } from '../../src/loadtest/result.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';

// `npm run loadtest:stack`: one command for a load test against a real stack (a fresh database, a waiting room
// of its own on Redis, `ticketrush serve` with two workers), which leaves nothing behind.
const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'stack-loadtest.ts');

async function databaseExists(dialect: 'postgres' | 'mysql', name: string): Promise<boolean> {
  if (dialect === 'postgres') {
    const c = new pg.Client({ connectionString: serverUrls.postgres });
    await c.connect();
    try {
      return (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
    } finally {
      await c.end();
    }
  }
  const u = new URL(serverUrls.mysql);
  const c = await createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: u.username || 'root',
  });
  try {
    const [rows] = await c.query('select 1 from information_schema.schemata where schema_name = ?', [name]);
    return (rows as unknown[]).length === 1;
  } finally {
    await c.end();
  }
}

async function keysOf(room: string): Promise<string[]> {
  const redis = new Redis(serverUrls.redis, { maxRetriesPerRequest: 1 });
  try {
    const found: string[] = [];
    for await (const keys of redis.scanStream({ match: `*${room}*`, count: 1000 }) as AsyncIterable<string[]>)
      found.push(...keys);
    return found;
  } finally {
    redis.disconnect();
  }
}

for (const dialect of ['postgres', 'mysql'] as const) {
  describe(`stack load test on ${dialect} + Redis`, async () => {
    const available = (await serverAvailable(dialect)) && (await serverAvailable('redis'));
    test('runs the load test against a fresh stack, with server metrics, and removes the stack after', {
      skip: !available && `${dialect} or Redis not reachable`,
    }, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tr-stack-'));
      try {
        const out = join(dir, 'mixed.json');
        const child = spawn(
          process.execPath,
          // Every option after the dialect goes to the runner.
          [
            SCRIPT,
            dialect,
            '--scenario',
            'mixed',
            '--stages',
            '3s:5',
            '--think-scale',
            '0.1',
            '--quiet',
            '--out',
            out,
          ],
          { env: { ...process.env, TR_WORKERS: '2' }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout.resume();
        let stderr = '';
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        const [code] = await once(child, 'exit');
        assert.equal(code, 0, stderr);
        const name = /database (ticketrush_test_\w+)/.exec(stderr)?.[1];
        const room = /waiting room (stack-[0-9a-f]+)/.exec(stderr)?.[1];
        assert.ok(name && room, `the stack is named: ${stderr}`);
        assert.match(stderr, /TR_WORKERS=2/);
        const result = JSON.parse(await readFile(out, 'utf8')) as LoadResult;
        assert.ok(result.totals.count > 5, `only ${result.totals.count} requests`);
        assert.equal(result.totals.failures, 0, JSON.stringify(result.totals.failureKinds));
        assert.ok(result.flows.funnel.admitted > 0, 'virtual users got through the waiting room');
        assert.ok(
          result.timeline.some((s) => s.server?.ticketrush_queue_active !== undefined),
          "the server's metrics were scraped",
        );
        assert.equal(await databaseExists(dialect, name), false, 'the database is dropped');
        assert.deepEqual(await keysOf(room), [], "the waiting room's keys are deleted");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
