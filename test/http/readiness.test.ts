import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeTestApp } from '../support/app.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { freePort } from '../support/nats-server.ts';

interface Check {
  name: string;
  ok: boolean;
}

test('/health/ready fails and names the dependency when a configured Redis or NATS is down', async () => {
  const [redisPort, natsPort] = [await freePort(), await freePort()];
  const t = await makeTestApp('sqlite', {
    TR_QUEUE: `redis://127.0.0.1:${redisPort}`,
    TR_EVENTS: `nats://127.0.0.1:${natsPort}`,
  });
  try {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(res.statusCode, 503);
    const checks = new Map((res.json().checks as Check[]).map((c) => [c.name, c]));
    assert.equal(checks.get('database')?.ok, true);
    assert.equal(checks.get('queue')?.ok, false);
    assert.equal(checks.get('nats')?.ok, false);
    assert.ok(
      [...checks.values()].every((c) => Object.keys(c).sort().join() === 'ms,name,ok'),
      `a dependency is named, never described: ${res.body}`,
    );
    const live = await t.app.inject({ method: 'GET', url: '/health/live' });
    assert.equal(live.statusCode, 200, 'liveness stays cheap and independent of dependencies');
  } finally {
    await t.close();
  }
});

test('/health/ready is 200 with every configured dependency up: database, Redis, NATS', async (t) => {
  if (!(await serverAvailable('redis')) || !(await serverAvailable('nats')))
    return t.skip('redis or nats absent');
  const app = await makeTestApp('sqlite', { TR_QUEUE: serverUrls.redis, TR_EVENTS: serverUrls.nats });
  try {
    let res = await app.app.inject({ method: 'GET', url: '/health/ready' });
    // NATS connects in the background; give it a moment.
    for (let i = 0; i < 50 && res.statusCode !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      app.clock.advance(1000); // past the cached answer
      res = await app.app.inject({ method: 'GET', url: '/health/ready' });
    }
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      (res.json().checks as Check[]).map((c) => [c.name, c.ok]),
      [
        ['database', true],
        ['queue', true],
        ['nats', true],
        ['pressure', true],
      ],
    );
  } finally {
    await app.close();
  }
});
