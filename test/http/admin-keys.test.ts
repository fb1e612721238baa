import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { adminClient, adminEnv, BOOTSTRAP_KEY } from '../support/admin.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries())
  describe(`operator keys and the audit log over HTTP on ${dialect}`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    let t: TestApp;
    before(async () => {
      t = await makeTestApp(dialect, adminEnv);
    });
    after(async () => t?.close());
    const admin = adminClient(() => t);

    test('no key is 401 OPERATOR_KEY_REQUIRED, an unknown one 401 OPERATOR_KEY_INVALID', async () => {
      const none = await admin('GET', '/keys', undefined, null);
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error.code, 'OPERATOR_KEY_REQUIRED');
      const fanStyle = await t.app.inject({
        method: 'GET',
        url: '/admin/api/concerts',
        headers: { authorization: BOOTSTRAP_KEY },
      });
      assert.equal(fanStyle.json().error.code, 'OPERATOR_KEY_REQUIRED', 'a key must come as Bearer');
      const wrong = await admin('GET', '/keys', undefined, `${BOOTSTRAP_KEY}x`);
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error.code, 'OPERATOR_KEY_INVALID');
      const unauthUpload = await admin(
        'PUT',
        '/schedules/1/seat-map/csv',
        'section,row,label,price\n',
        'nope',
      );
      assert.equal(unauthUpload.statusCode, 401);
    });

    test('a key created through the API works at once, is stored only as its hash, and is audited', async () => {
      const created = await admin('POST', '/keys', { name: 'alice' });
      assert.equal(created.statusCode, 201, created.body);
      const { key, secret } = created.json();
      assert.match(secret, /^trk_[A-Za-z0-9_-]{43}$/);
      assert.equal(key.name, 'alice');
      assert.equal(key.createdBy, 'bootstrap');
      assert.equal(key.revokedAt, null);

      const listed = await admin('GET', '/keys', undefined, secret);
      assert.equal(listed.statusCode, 200);
      assert.deepEqual(
        listed
          .json()
          .keys.map((k: { name: string }) => k.name)
          .sort(),
        ['alice', 'bootstrap'],
      );
      assert.ok(!listed.body.includes(secret));

      const rows = await t.composition.services.database.db.selectFrom('operator_keys').selectAll().execute();
      const stored = rows.find((r) => r.name === 'alice');
      assert.equal(stored?.key_hash, createHash('sha256').update(secret).digest('hex'));
      assert.ok(!JSON.stringify(rows).includes(secret), 'the secret itself is stored nowhere');
      assert.ok(!JSON.stringify(rows).includes(BOOTSTRAP_KEY), 'nor is the bootstrap key');

      const audit = (await admin('GET', `/audit?entity=operator-key:${key.id}`)).json();
      assert.equal(audit.entries.length, 1);
      assert.equal(audit.entries[0].action, 'operator-key.create');
      assert.equal(audit.entries[0].actor.name, 'bootstrap');
      assert.equal(audit.entries[0].before, null);
      assert.equal(audit.entries[0].after.name, 'alice');
      assert.ok(!JSON.stringify(audit).includes(secret));
    });

    test('a name is unique: a second key of the same name is 409', async () => {
      const res = await admin('POST', '/keys', { name: 'alice' });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().error.code, 'OPERATOR_KEY_NAME_TAKEN');
    });

    test('a revoked key gets 403 OPERATOR_KEY_REVOKED; the revocation is audited with before and after', async () => {
      const { key, secret } = (await admin('POST', '/keys', { name: 'bob' })).json();
      assert.equal((await admin('GET', '/audit', undefined, secret)).statusCode, 200);
      // bob revokes his own key: the actor is bob.
      const revoked = await admin('POST', `/keys/${key.id}/revoke`, undefined, secret);
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.ok(Date.parse(revoked.json().revokedAt) > 0);
      const after = await admin('GET', '/audit', undefined, secret);
      assert.equal(after.statusCode, 403);
      assert.equal(after.json().error.code, 'OPERATOR_KEY_REVOKED');

      const entry = (await admin('GET', `/audit?entity=operator-key:${key.id}&limit=1`)).json().entries[0];
      assert.equal(entry.action, 'operator-key.revoke');
      assert.deepEqual(entry.actor, { id: key.id, name: 'bob' });
      assert.equal(entry.before.revokedAt, null);
      assert.equal(typeof entry.after.revokedAt, 'number');
      const unknown = await admin('POST', '/keys/00000000-0000-7000-8000-000000000000/revoke');
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().error.code, 'OPERATOR_KEY_NOT_FOUND');
    });

    test('the audit log pages newest first and filters by entity type', async () => {
      const first = (await admin('GET', '/audit?entity=operator-key&limit=2')).json();
      assert.equal(first.entries.length, 2);
      assert.ok(first.entries[0].seq > first.entries[1].seq);
      assert.equal(typeof first.nextBefore, 'number');
      const rest = (await admin('GET', `/audit?entity=operator-key&before=${first.nextBefore}`)).json();
      assert.ok(rest.entries.length >= 2, 'bootstrap, alice, bob and bob revoked: 4 in all');
      assert.ok(rest.entries.every((e: { seq: number }) => e.seq < first.nextBefore));
      assert.equal(rest.nextBefore, null);
      const bad = await admin('GET', '/audit?entity=Not%20A%20Type');
      assert.equal(bad.statusCode, 400);
    });

    test('OpenAPI lists every admin route under the admin tag and the operatorKey scheme', async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      assert.deepEqual(spec.components.securitySchemes.operatorKey, {
        type: 'http',
        scheme: 'bearer',
        description: spec.components.securitySchemes.operatorKey.description,
      });
      const adminPaths = Object.keys(spec.paths).filter((p) => p.startsWith('/admin/api/'));
      assert.ok(adminPaths.length >= 10, adminPaths.join(' '));
      for (const path of adminPaths)
        for (const [method, op] of Object.entries(spec.paths[path]) as Array<
          [string, Record<string, unknown>]
        >) {
          assert.deepEqual(op.tags, ['admin'], `${method} ${path}`);
          assert.deepEqual(op.security, [{ operatorKey: [] }], `${method} ${path}`);
        }
      for (const path of Object.keys(spec.paths).filter((p) => !p.startsWith('/admin/')))
        for (const op of Object.values(spec.paths[path]) as Array<{ tags?: string[] }>)
          assert.ok(!op.tags?.includes('admin'), path);
    });
  });
