import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerKind } from './private-server.ts';

// PostgreSQL, MariaDB and Redis as a test's own processes, for tests that stop and restart them.

const pgBinDir = (): string => {
  if (process.env.TR_TEST_PG_BIN) return process.env.TR_TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return join(root, versions[0] ?? 'missing', 'bin');
};

export const binaries = {
  initdb: join(pgBinDir(), 'initdb'),
  postgres: join(pgBinDir(), 'postgres'),
  mariadbInstallDb: process.env.TR_TEST_MARIADB_INSTALL_DB ?? '/usr/bin/mariadb-install-db',
  mariadbd: process.env.TR_TEST_MARIADBD ?? '/usr/sbin/mariadbd',
  redisServer: process.env.TR_TEST_REDIS_SERVER ?? '/usr/bin/redis-server',
};

/** PostgreSQL with trust authentication for `postgres`, durable but without fsync (a test's data). */
export const postgresKind: ServerKind = {
  name: 'postgres',
  runAs: 'postgres',
  init: (dir, owner) => {
    execFileSync(
      binaries.initdb,
      ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-instructions'],
      { stdio: 'pipe', ...(owner ?? {}) },
    );
  },
  command: (port, dir) => ({
    file: binaries.postgres,
    args: [
      '-D',
      join(dir, 'data'),
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=50',
      '-c',
      'shared_buffers=16MB',
    ],
  }),
  ready: /database system is ready to accept connections/,
  // Fast shutdown: what `pg_ctl restart` does; every session is ended with 57P01.
  stopSignal: 'SIGINT',
};

export const postgresUrl = (port: number, db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;

/** MariaDB with a password-less root over TCP. */
export const mariadbKind: ServerKind = {
  name: 'mariadb',
  runAs: 'mysql',
  init: (dir, owner) => {
    execFileSync(
      binaries.mariadbInstallDb,
      [
        '--no-defaults',
        `--datadir=${join(dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        `--user=${owner ? 'mysql' : (process.env.USER ?? 'root')}`,
        '--skip-test-db',
        '--skip-name-resolve',
      ],
      { stdio: 'pipe' },
    );
  },
  command: (port, dir) => ({
    file: binaries.mariadbd,
    args: [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--socket=${join(dir, 'mariadb.sock')}`,
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=32M',
      '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=50',
    ],
  }),
  ready: /ready for connections/,
};

export const mariadbUrl = (port: number, db = 'ticketrush') => `mysql://root@127.0.0.1:${port}/${db}`;

/** Redis with an append-only file when `persistent`, so a restart keeps the waiting room; RDB snapshots off. */
export const redisKind = (persistent: boolean): ServerKind => ({
  name: 'redis',
  command: (port, dir) => ({
    file: binaries.redisServer,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      persistent ? 'yes' : 'no',
      '--appendfsync',
      'everysec',
    ],
  }),
  ready: /Ready to accept connections/,
});

export const redisUrl = (port: number) => `redis://127.0.0.1:${port}`;
