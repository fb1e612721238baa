import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { startServer } from '../../src/main.ts';
import { smallDemo } from '../support/app.ts';
import { needServer, serverUrls } from '../support/backends.ts';

test('postgres: a server opens its whole pool before it listens, and a start that cannot names TR_DB_POOL_MIN', async (t) => {
  if (!(await needServer(t, 'postgres'))) return;
  // A role the database lets hold 3 connections at once, owning a database of its own.
  const name = `tr_pool_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrls.postgres });
  await admin.connect();
  await admin.query(`create role ${name} login connection limit 3`);
  await admin.query(`create database ${name} owner ${name}`);
  const url = new URL(serverUrls.postgres);
  url.username = name;
  url.pathname = `/${name}`;
  const env = {
    ...smallDemo,
    LOG_LEVEL: 'silent',
    TR_DB: url.href,
    TR_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  };
  try {
    await assert.rejects(
      startServer({ env: { ...env, TR_DB_POOL_MAX: '5' }, port: 0 }),
      (err: Error) =>
        err.message.startsWith(`TR_DB_POOL_MIN: cannot open 5 connection(s) to postgres://${name}@`) &&
        /too many connections/.test(err.message),
    );
    const server = await startServer({ env: { ...env, TR_DB_POOL_MAX: '3' }, port: 0 });
    try {
      const { rows } = await admin.query(
        'select count(*)::int as n from pg_stat_activity where usename = $1',
        [name],
      );
      assert.equal(rows[0].n, 3, 'the whole pool is open before the first request');
    } finally {
      await server.close();
    }
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`drop role if exists ${name}`);
    await admin.end();
  }
});
