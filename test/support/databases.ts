import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { createDatabase, type Database, type DialectName, type PoolOptions } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { type ServerName, serverAvailable, serverUrls } from './backends.ts';

export const DIALECTS: DialectName[] = ['sqlite', 'postgres', 'mysql'];

export interface TestDatabase {
  database: Database;
  url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

const serverOf: Record<Exclude<DialectName, 'sqlite'>, ServerName> = { postgres: 'postgres', mysql: 'mysql' };

/** True when the dialect's server is reachable (always for SQLite); in CI an absent server throws. */
export async function dialectAvailable(dialect: DialectName): Promise<boolean> {
  return dialect === 'sqlite' ? true : serverAvailable(serverOf[dialect]);
}

/** A freshly created, migrated database of its own, dropped afterwards. */
export async function createTestDatabase(
  dialect: DialectName,
  pool: PoolOptions = { max: 10, acquireTimeoutMs: 5000 },
): Promise<TestDatabase> {
  const name = `ticketrush_test_${randomBytes(5).toString('hex')}`;
  let url: string;
  let dropServerDb: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ticketrush-'));
    url = `sqlite:${join(dir, 'test.db')}`;
    dropServerDb = async () => rmSync(dir, { recursive: true, force: true });
  } else if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: serverUrls.postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(serverUrls.postgres);
    u.pathname = `/${name}`;
    url = u.toString();
    dropServerDb = async () => {
      const c = new pg.Client({ connectionString: serverUrls.postgres });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    const u = new URL(serverUrls.mysql);
    const adminOpts = {
      host: u.hostname,
      port: Number(u.port || 3306),
      user: u.username || 'root',
      password: u.password,
    };
    const admin = await createConnection(adminOpts);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    u.pathname = `/${name}`;
    url = u.toString();
    dropServerDb = async () => {
      const c = await createConnection(adminOpts);
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    };
  }
  const database = createDatabase(url, pool);
  await migrateToLatest(database);
  return {
    database,
    url,
    drop: async () => {
      await database.close().catch(() => {});
      await dropServerDb();
    },
  };
}
