// Databases created before the dialect capability flags must match new ones: the migration's outbox DDL
// is pinned per dialect, compiled without a server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Dialect,
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { DIALECT_CAPABILITIES, type DialectName } from '../../src/db/database.ts';
import { initialSchema } from '../../src/db/migrations/0001-initial.ts';

const offline: Record<DialectName, Dialect> = {
  sqlite: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  },
  postgres: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createIntrospector: (db) => new PostgresIntrospector(db),
  },
  mysql: {
    createAdapter: () => new MysqlAdapter(),
    createDriver: () => new DummyDriver(),
    createQueryCompiler: () => new MysqlQueryCompiler(),
    createIntrospector: (db) => new MysqlIntrospector(db),
  },
};

const outboxColumns =
  '"event_id" varchar(36) not null unique, "aggregate_id" varchar(64) not null, "type" varchar(64) not null, "payload" text not null, "created_at" bigint not null, "published_at" bigint)';

const expectedOutbox: Record<DialectName, string> = {
  sqlite: `create table "outbox" ("seq" integer primary key autoincrement, ${outboxColumns}`,
  postgres: `create table "outbox" ("seq" bigserial primary key, ${outboxColumns}`,
  mysql: `create table \`outbox\` (\`seq\` bigint primary key auto_increment, ${outboxColumns.replaceAll('"', '`')}`,
};

async function compiledUp(dialect: DialectName): Promise<string[]> {
  const statements: string[] = [];
  const db = new Kysely<unknown>({
    dialect: offline[dialect],
    log: (e) => {
      statements.push(e.query.sql);
    },
  });
  await initialSchema(DIALECT_CAPABILITIES[dialect]).up(db);
  return statements;
}

for (const dialect of Object.keys(offline) as DialectName[]) {
  test(`the initial migration creates the outbox with a database-numbered seq on ${dialect}, as before`, async () => {
    const statements = await compiledUp(dialect);
    assert.deepEqual(
      statements.filter((s) => /^create table .outbox./.test(s)),
      [expectedOutbox[dialect]],
    );
  });
}
