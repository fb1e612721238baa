import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeTestApp } from '../support/app.ts';
import { freePort } from '../support/nats-server.ts';

// A configured Redis that does not answer: the waiting room fails closed, fast, with 503 + Retry-After.
// test/faults/ restarts real servers under load; this is the same promise on one request each.

test('Redis unreachable: token routes and admitted-only routes answer 503 QUEUE_UNAVAILABLE with Retry-After', async () => {
  const t = await makeTestApp('sqlite', { TR_QUEUE: `redis://127.0.0.1:${await freePort()}` });
  try {
    const key = 'A'.repeat(22);
    for (const [method, url] of [
      ['POST', '/api/users/1/token'],
      ['GET', '/api/users/1/token'],
      ['GET', '/api/concerts'],
      ['GET', '/api/users/1/points'],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: { authorization: key } });
      assert.equal(res.statusCode, 503, `${method} ${url}: ${res.body}`);
      assert.equal(res.json().error.code, 'QUEUE_UNAVAILABLE', `${method} ${url}`);
      assert.equal(res.headers['retry-after'], '2', `${method} ${url}`);
    }
  } finally {
    await t.close();
  }
});
