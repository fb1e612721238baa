import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';

test('defaults are the embedded ones', () => {
  const c = loadConfig({});
  assert.equal(c.db, 'sqlite:data/ticketrush.db');
  assert.equal(c.queue, 'memory');
  assert.equal(c.events, 'inprocess');
  assert.equal(c.port, 3000);
  assert.equal(c.host, '127.0.0.1');
});

test('server URLs are accepted for TR_DB, TR_QUEUE and TR_EVENTS', () => {
  const c = loadConfig({
    TR_DB: 'postgres://u@h:5432/db',
    TR_QUEUE: 'redis://127.0.0.1:6379',
    TR_EVENTS: 'nats://127.0.0.1:4222',
  });
  assert.equal(c.db, 'postgres://u@h:5432/db');
  const cluster = 'redis-cluster://127.0.0.1:7001,127.0.0.1:7002,[::1]:7003';
  assert.equal(loadConfig({ TR_QUEUE: cluster }).queue, cluster);
  assert.equal(
    loadConfig({ TR_DB: 'mysql://root@127.0.0.1:3306/test' }).db,
    'mysql://root@127.0.0.1:3306/test',
  );
});

test('a bad value stops start-up with one line naming the variable and what is expected', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^PORT: expected an integer from 0 to 65535, got "eighty"$/],
    [{ PORT: '70000' }, /^PORT: /],
    [{ TR_DB: 'oracle://x' }, /^TR_DB: expected sqlite:<path>, postgres:/],
    [{ TR_QUEUE: 'kafka://x' }, /^TR_QUEUE: expected memory or redis:/],
    [{ TR_QUEUE: 'redis-cluster://' }, /^TR_QUEUE: .*redis-cluster:/],
    [{ TR_QUEUE: 'redis-cluster://127.0.0.1:7001,127.0.0.1' }, /^TR_QUEUE: /],
    [{ TR_QUEUE: 'redis-cluster://127.0.0.1:7001,,127.0.0.1:7002' }, /^TR_QUEUE: /],
    [{ TR_EVENTS: 'amqp://x' }, /^TR_EVENTS: expected inprocess or nats:/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ TR_SEED_ON_START: 'maybe' }, /^TR_SEED_ON_START: expected true or false/],
    [{ TR_HOLD_TTL_SECONDS: '0' }, /^TR_HOLD_TTL_SECONDS: /],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) =>
        err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'),
      JSON.stringify(env),
    );
  }
});

test('demo data is seeded on start by default only into the embedded SQLite database', () => {
  assert.equal(loadConfig({}).seedOnStart, true);
  assert.equal(loadConfig({ TR_DB: 'postgres://u@h:5432/db' }).seedOnStart, false);
  assert.equal(loadConfig({ TR_DB: 'mysql://root@h:3306/db' }).seedOnStart, false);
  assert.equal(loadConfig({ TR_DB: 'postgres://u@h:5432/db', TR_SEED_ON_START: 'true' }).seedOnStart, true);
  assert.equal(loadConfig({ TR_SEED_ON_START: 'false' }).seedOnStart, false);
});

test('a user may hold TR_MAX_HOLDS_PER_USER seats at once, 4 unless set', () => {
  assert.equal(loadConfig({}).maxHoldsPerUser, 4);
  assert.equal(loadConfig({ TR_MAX_HOLDS_PER_USER: '10' }).maxHoldsPerUser, 10);
  assert.throws(() => loadConfig({ TR_MAX_HOLDS_PER_USER: '0' }), /^ConfigError: TR_MAX_HOLDS_PER_USER: /);
});

test('TR_DB_POOL_MIN: a fixed pool (max) unless set, at most TR_DB_POOL_MAX', () => {
  assert.equal(loadConfig({}).dbPool.min, 'max');
  assert.equal(loadConfig({ TR_DB_POOL_MIN: '0' }).dbPool.min, 0);
  assert.equal(loadConfig({ TR_DB_POOL_MIN: '10', TR_DB_POOL_MAX: '10' }).dbPool.min, 10);
  assert.throws(
    () => loadConfig({ TR_DB_POOL_MIN: '11' }),
    /^ConfigError: TR_DB_POOL_MIN: expected at most TR_DB_POOL_MAX \(10\)/,
  );
  assert.throws(
    () => loadConfig({ TR_DB_POOL_MIN: 'all' }),
    /^ConfigError: TR_DB_POOL_MIN: expected max or an integer/,
  );
});

test('TR_ACCESS_KEY_SECRET: unset by default, at least 32 bytes, never shown', () => {
  assert.equal(loadConfig({}).accessKeySecret.reveal(), '');
  const secret = 's'.repeat(32);
  const c = loadConfig({ TR_ACCESS_KEY_SECRET: secret });
  assert.equal(c.accessKeySecret.reveal(), secret);
  assert.doesNotMatch(JSON.stringify(c), /s{32}/);
  assert.throws(
    () => loadConfig({ TR_ACCESS_KEY_SECRET: 'short-secret' }),
    (err: Error) => /^TR_ACCESS_KEY_SECRET: /.test(err.message) && !err.message.includes('short-secret'),
  );
});
