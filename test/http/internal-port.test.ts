import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { type App, buildApp } from '../../src/app.ts';
import { type Composition, compose } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { startServer } from '../../src/main.ts';
import { makeTestApp, smallDemo } from '../support/app.ts';
import { createTestDatabase, DIALECTS, dialectAvailable } from '../support/databases.ts';
import { freePort } from '../support/nats-server.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

/** A real `serve` in this process on a fresh database of the dialect, API on a free port. */
async function serveOn(dialect: (typeof DIALECTS)[number], env: Record<string, string>) {
  const testDb = await createTestDatabase(dialect);
  await testDb.database.close();
  const server = await startServer({
    env: {
      ...smallDemo,
      LOG_LEVEL: 'silent',
      TR_SEED_ON_START: 'false',
      // Shedding is not under test: a start-up stall on a busy machine must not answer 503 here.
      TR_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env,
      TR_DB: testDb.url,
    },
    port: 0,
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await testDb.drop().catch(() => {});
    },
  };
}

for (const [i, dialect] of DIALECTS.entries())
  describe(`the internal port on ${dialect}`, { skip: !reachable[i] && `${dialect} not reachable` }, () => {
    test('/metrics and /health/ready answer on the internal port only; the API stays on its own', async () => {
      const server = await serveOn(dialect, { TR_INTERNAL_PORT: '0' });
      try {
        assert.notEqual(server.internalUrl, server.url);
        for (const path of ['/metrics', '/health/ready']) {
          const api = await fetch(`${server.url}${path}`);
          assert.equal(api.status, 404, `${path} is not served to the public: ${await api.clone().text()}`);
          assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
        }
        const ready = await fetch(`${server.internalUrl}/health/ready`);
        assert.equal(ready.status, 200);
        assert.equal(((await ready.json()) as { status: string }).status, 'ok');
        const metrics = await fetch(`${server.internalUrl}/metrics`);
        assert.equal(metrics.status, 200);
        assert.match(await metrics.text(), /^ticketrush_db_pool_/m);
        assert.equal(
          (await fetch(`${server.url}/health/live`)).status,
          200,
          'liveness stays on the API port',
        );
        assert.equal(
          (await fetch(`${server.url}/api/concerts`)).status,
          401,
          'the API answers (behind its gate)',
        );
        const internalApi = await fetch(`${server.internalUrl}/api/concerts`);
        assert.equal(internalApi.status, 404, 'the internal port serves no API');
        const docs = (await (await fetch(`${server.url}/docs/json`)).json()) as { paths: object };
        assert.ok(!('/health/ready' in docs.paths), 'the public OpenAPI does not list readiness');
      } finally {
        await server.close();
      }
    });
  });

describe('TR_INTERNAL_PORT=main', () => {
  test('/metrics and /health/ready share the API port, as in the embedded demo', async () => {
    const server = await serveOn('sqlite', { TR_INTERNAL_PORT: 'main' });
    try {
      assert.equal(server.internalUrl, server.url);
      assert.equal((await fetch(`${server.url}/health/ready`)).status, 200);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('readiness answers', () => {
  test('a burst of probes costs one check; the answer is at most a second old', async () => {
    const t = await makeTestApp('sqlite');
    try {
      let calls = 0;
      let release = () => {};
      t.composition.services.readiness.push({
        name: 'counted',
        check: () => {
          calls++;
          return new Promise<void>((resolve) => {
            release = resolve;
          });
        },
      });
      const probe = () => t.app.inject({ method: 'GET', url: '/health/ready' });
      const burst = Array.from({ length: 50 }, probe);
      await new Promise((r) => setTimeout(r, 20));
      release();
      const answers = await Promise.all(burst);
      assert.equal(calls, 1, 'probes during a running check share it');
      assert.ok(answers.every((a) => a.statusCode === 200));
      t.clock.advance(999);
      await probe();
      assert.equal(calls, 1, 'an answer younger than a second is reused');
      t.clock.advance(2);
      const later = probe();
      await new Promise((r) => setTimeout(r, 20));
      release();
      assert.equal((await later).statusCode, 200);
      assert.equal(calls, 2, 'an older one is checked again');
    } finally {
      await t.close();
    }
  });

  test('a failed dependency is named without its error text; the detail goes to the log', async () => {
    const secret = 'hunter2-not-in-answers';
    const [redisPort, natsPort] = [await freePort(), await freePort()];
    const t = await makeTestApp('sqlite', {
      TR_QUEUE: `redis://:${secret}@127.0.0.1:${redisPort}`,
      TR_EVENTS: `nats://127.0.0.1:${natsPort}`,
    });
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const app = await buildApp({ config: t.config, services: t.composition.services, logger });
    try {
      const res = await app.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(
        res.json().checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]),
        [
          ['database', true],
          ['queue', false],
          ['nats', false],
          ['pressure', true],
        ],
      );
      for (const leak of [
        secret,
        '127.0.0.1',
        String(redisPort),
        String(natsPort),
        'ECONNREFUSED',
        'NATS is',
      ])
        assert.ok(!res.body.includes(leak), `the answer shows ${leak}: ${res.body}`);
      const logged = lines.map((l) => JSON.parse(l) as { dependency?: string; err?: { message?: string } });
      for (const name of ['queue', 'nats']) {
        const line = logged.find((l) => l.dependency === name);
        assert.ok(line?.err?.message, `the log explains ${name}: ${lines.join('')}`);
      }
    } finally {
      await app.close();
      await t.close();
    }
  });

  for (const [i, dialect] of DIALECTS.entries()) {
    if (dialect === 'sqlite') continue;
    test(`an unreachable ${dialect} is named, not described`, {
      skip: !reachable[i] && `${dialect} not reachable`,
    }, async () => {
      const testDb = await createTestDatabase(dialect);
      await testDb.database.close();
      const direct = new URL(testDb.url);
      const proxy = new TcpProxy({ host: direct.hostname, port: Number(direct.port) });
      const via = new URL(testDb.url);
      via.port = String(await proxy.listen());
      // PostgreSQL here trusts local connections and ignores a password; MariaDB's root has none.
      if (dialect === 'postgres') via.password = 'pw-not-in-answers';
      const config = loadConfig({ ...smallDemo, TR_DB: via.toString(), TR_DB_ACQUIRE_TIMEOUT_MS: '500' });
      const clock = new ManualClock();
      let composition: Composition | undefined;
      let app: App | undefined;
      try {
        composition = await compose(config, { clock });
        app = await buildApp({ config, services: composition.services });
        assert.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200);
        await proxy.cut();
        clock.advance(1001); // past the cached answer
        const res = await app.inject({ method: 'GET', url: '/health/ready' });
        assert.equal(res.statusCode, 503);
        assert.equal(res.json().checks[0].name, 'database');
        assert.equal(res.json().checks[0].ok, false);
        for (const leak of ['pw-not-in-answers', '127.0.0.1', via.port, 'ECONNREFUSED', 'connect'])
          assert.ok(!res.body.includes(leak), `the answer shows ${leak}: ${res.body}`);
      } finally {
        await app?.close();
        await composition?.close();
        await proxy.close();
        await testDb.drop().catch(() => {});
      }
    });
  }
});
