import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compose } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { smallDemo } from '../support/app.ts';
import { createTestDatabase, DIALECTS, dialectAvailable, type TestDatabase } from '../support/databases.ts';

/** Starts the composition as `serve` does on the database, and says what start-up logged. */
async function serveOn(t: TestDatabase, env: Record<string, string> = {}): Promise<string[]> {
  const lines: string[] = [];
  const config = loadConfig({ ...smallDemo, TR_SEED_ON_START: '', ...env, TR_DB: t.url });
  const composition = await compose(config, { prepareDatabase: true, log: (l) => lines.push(l) });
  await composition.close();
  return lines;
}

const count = async (t: TestDatabase, table: 'users' | 'concerts') =>
  Number(
    (
      await t.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries()) {
  const available = reachable[i];
  describe(`demo data on serve, on ${dialect}`, {
    skip: available ? false : `${dialect} not reachable`,
  }, () => {
    const withDatabase = async (fn: (t: TestDatabase) => Promise<void>) => {
      const t = await createTestDatabase(dialect);
      try {
        await fn(t);
      } finally {
        await t.drop();
      }
    };

    test(
      dialect === 'sqlite'
        ? 'the embedded default is seeded on start unless TR_SEED_ON_START=false'
        : 'a server database is seeded on start only with TR_SEED_ON_START=true',
      () =>
        withDatabase(async (t) => {
          const embedded = dialect === 'sqlite';
          if (embedded) await serveOn(t, { TR_SEED_ON_START: 'false' });
          else await serveOn(t);
          assert.equal(await count(t, 'users'), 0);
          if (embedded) await serveOn(t);
          else await serveOn(t, { TR_SEED_ON_START: 'true' });
          assert.equal(await count(t, 'users'), Number(smallDemo.TR_DEMO_USERS));
        }),
    );

    test('serve never seeds over users or concerts the demo seed did not write, and says so', () =>
      withDatabase(async (t) => {
        await t.database.db.insertInto('users').values({ id: 7, name: 'alice', created_at: 1 }).execute();
        const lines = await serveOn(t, { TR_SEED_ON_START: 'true' });
        assert.equal(await count(t, 'users'), 1);
        assert.equal(await count(t, 'concerts'), 0);
        assert.ok(
          lines.some((l) => /^seed: skipped, .*users.* the demo seed did not write/.test(l)),
          lines.join('\n'),
        );
      }));

    test("the demo seed's own data is topped up on a later start", () =>
      withDatabase(async (t) => {
        await serveOn(t, { TR_SEED_ON_START: 'true' });
        const lines = await serveOn(t, { TR_SEED_ON_START: 'true', TR_DEMO_USERS: '60' });
        assert.equal(await count(t, 'users'), 60);
        assert.ok(!lines.some((l) => l.includes('skipped')), lines.join('\n'));
      }));
  });
}
