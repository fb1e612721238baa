import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { createDatabase } from '../../src/db/database.ts';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'ticketrush-cli-'));
const db = `sqlite:${join(dir, 'keys.db')}`;
after(() => rmSync(dir, { recursive: true, force: true }));

const ticketrush = (...args: string[]) =>
  run(process.execPath, [cli, ...args], { env: { ...process.env, TR_DB: db }, encoding: 'utf8' });

test('admin create-key prints the key once on stdout; only its hash is stored; revoke-key and list-keys', async () => {
  const created = await ticketrush('admin', 'create-key', '--name', 'ops-team');
  const secret = created.stdout.trim();
  assert.match(secret, /^trk_[A-Za-z0-9_-]{43}$/, 'stdout is the key alone, for scripts');
  assert.match(created.stderr, /ops-team created .* shown only this once/);

  const database = createDatabase(db);
  try {
    const rows = await database.db.selectFrom('operator_keys').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].key_hash, createHash('sha256').update(secret).digest('hex'));
    assert.equal(rows[0].created_by, 'cli');
    assert.ok(!JSON.stringify(rows).includes(secret));
    const audit = await database.db.selectFrom('audit_log').selectAll().execute();
    assert.deepEqual(
      audit.map((a) => [a.action, a.actor_name]),
      [['operator-key.create', 'cli']],
    );
    assert.ok(!JSON.stringify(audit).includes(secret));
  } finally {
    await database.close();
  }

  const listed = await ticketrush('admin', 'list-keys');
  assert.match(listed.stdout, /ops-team .* active/);
  assert.ok(!listed.stdout.includes(secret), 'the key is never shown again');

  const revoked = await ticketrush('admin', 'revoke-key', '--name', 'ops-team');
  assert.match(revoked.stdout, /ops-team .* revoked/);
  assert.match((await ticketrush('admin', 'list-keys')).stdout, /ops-team .* revoked 20/);

  await assert.rejects(ticketrush('admin', 'create-key', '--name', 'ops-team'), (err: { stderr: string }) =>
    /already exists/.test(err.stderr),
  );
  await assert.rejects(ticketrush('admin', 'create-key'), (err: { code: number }) => err.code === 2);
});
