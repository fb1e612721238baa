import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type App, buildApp } from '../../src/app.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
let app: App;
const seen: string[] = [];
before(async () => {
  t = await makeTestApp('sqlite');
  // A second app on the same services, to watch the id every request is logged under.
  app = await buildApp({ config: t.config, services: t.composition.services });
  app.addHook('onRequest', async (req) => {
    seen.push(req.id);
  });
  await app.ready();
});
after(async () => {
  await app?.close();
  await t?.close();
});

const idFor = async (headers: Record<string, string | string[]>): Promise<string> => {
  seen.length = 0;
  await app.inject({ method: 'GET', url: '/api/concerts', headers });
  assert.equal(seen.length, 1);
  return seen[0];
};

test('a safe x-request-id is kept, so a caller can find its request in the logs', async () => {
  for (const id of ['abc-123', 'trace.7:span_9', 'A'.repeat(64), '0190d0c0-0000-7000-8000-000000000000'])
    assert.equal(await idFor({ 'x-request-id': id }), id);
});

test('any other x-request-id is replaced by a fresh one: nothing a caller sends can forge or flood a log line', async () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  for (const id of ['', 'A'.repeat(65), 'two words', 'x"}{"level":60', 'a/b', 'é', 'id\\n']) {
    const got = await idFor({ 'x-request-id': id });
    assert.match(got, uuid, JSON.stringify(id));
  }
  assert.match(await idFor({ 'x-request-id': ['a', 'b'] }), uuid, 'a repeated header');
  const fresh = await idFor({});
  assert.match(fresh, uuid);
  assert.notEqual(await idFor({}), fresh);
});
