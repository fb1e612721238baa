import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createDatabase } from '../../src/db/database.ts';
import { prepared } from '../../src/db/prepared-statements.ts';
import { inOneRoundTrip } from '../../src/db/transaction.ts';
import { createTestDatabase, DIALECTS, dialectAvailable, type TestDatabase } from '../support/databases.ts';

// A transaction sent in one round trip (a pipeline on PostgreSQL, a batch on MySQL/MariaDB) is all or nothing.
for (const dialect of DIALECTS.filter((d) => d !== 'sqlite')) {
  describe(`one round trip on ${dialect}`, async () => {
    const available = await dialectAvailable(dialect);
    const skip = !available && `${dialect} not reachable`;
    let t: TestDatabase;
    before(async () => {
      if (!available) return;
      // One connection, so the trip after a failed one reuses it.
      t = await createTestDatabase(dialect, { max: 1, acquireTimeoutMs: 5000 });
      await sql`create table trip_rows (id integer primary key, n integer not null)`.execute(t.database.db);
    });
    after(async () => t?.drop());

    const ids = async () =>
      (await sql<{ id: number }>`select id from trip_rows order by id`.execute(t.database.db)).rows.map((r) =>
        Number(r.id),
      );

    test('the statements run in order in one transaction, and each one answers', { skip }, async () => {
      const { db } = t.database;
      const results = await inOneRoundTrip(t.database, [
        sql`insert into trip_rows (id, n) values (${1}, ${10})`.compile(db),
        sql`update trip_rows set n = n + ${5} where id = ${1}`.compile(db),
        sql`select n from trip_rows where id = ${1}`.compile(db),
      ]);
      assert.equal(results.length, 3);
      assert.deepEqual(
        (results[2] as { n: number }[]).map((r) => Number(r.n)),
        [15],
      );
      assert.deepEqual(await ids(), [1]);
    });

    test('the transaction is READ COMMITTED', { skip }, async () => {
      const { db } = t.database;
      const level =
        dialect === 'mysql'
          ? sql`select @@session.tx_isolation as level`
          : sql`select current_setting('transaction_isolation') as level`;
      const [rows] = (await inOneRoundTrip(t.database, [level.compile(db)])) as { level: string }[][];
      assert.equal(rows[0].level.toLowerCase().replace('-', ' '), 'read committed');
    });

    // A database-level default isolation is PostgreSQL's (ALTER DATABASE ... SET): the test exists only there.
    if (dialect === 'postgres')
      test('the transaction is READ COMMITTED where the database says otherwise', { skip }, async () => {
        const name = new URL(t.url).pathname.slice(1);
        await sql`alter database ${sql.id(name)} set default_transaction_isolation to 'serializable'`.execute(
          t.database.db,
        );
        const fresh = createDatabase(t.url, { max: 1, acquireTimeoutMs: 5000 });
        try {
          const level = sql<{ level: string }>`select current_setting('transaction_isolation') as level`;
          const [rows] = (await inOneRoundTrip(fresh, [level.compile(fresh.db)])) as { level: string }[][];
          assert.equal(rows[0].level, 'read committed');
        } finally {
          await fresh.close();
          await sql`alter database ${sql.id(name)} reset default_transaction_isolation`.execute(
            t.database.db,
          );
        }
      });

    test('a failing statement rolls back those before it and fails the whole trip', { skip }, async () => {
      const { db } = t.database;
      await assert.rejects(
        inOneRoundTrip(t.database, [
          sql`insert into trip_rows (id, n) values (${2}, ${1})`.compile(db),
          sql`insert into trip_rows (id, n) values (${1}, ${1})`.compile(db),
          sql`insert into trip_rows (id, n) values (${3}, ${1})`.compile(db),
        ]),
        (err: Error & { code?: string }) => ['23505', 'ER_DUP_ENTRY'].includes(String(err.code)),
      );
      assert.deepEqual(await ids(), [1]);
      // The connection went back to the pool clean: the next trip commits.
      await inOneRoundTrip(t.database, [sql`insert into trip_rows (id, n) values (${4}, ${1})`.compile(db)]);
      assert.deepEqual(await ids(), [1, 4]);
    });

    test('prepared statements fail and succeed in a trip like the others, and are prepared once', {
      skip,
    }, async () => {
      const { db } = t.database;
      const insert = (id: number) =>
        prepared('trip_insert', sql`insert into trip_rows (id, n) values (${id}, ${1})`).compile(db);
      const count = prepared('trip_count', sql`select count(*) as n from trip_rows`).compile(db);
      // The first use prepares both; the duplicate fails after the first insert and the count were prepared.
      await assert.rejects(inOneRoundTrip(t.database, [insert(5), count, insert(5)]));
      assert.deepEqual(await ids(), [1, 4]);
      const results = await inOneRoundTrip(t.database, [insert(6), count, insert(7)]);
      assert.equal(Number((results[1] as { n: number }[])[0].n), 3);
      assert.deepEqual(await ids(), [1, 4, 6, 7]);
    });
  });
}
