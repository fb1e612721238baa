import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEFAULT_INTERNAL_PORT, loadConfig } from '../../src/config.ts';

test('TR_INTERNAL_PORT=auto: the API port for the embedded demo, a port of its own for any other database', () => {
  assert.equal(loadConfig({}).internal.port, 'main');
  assert.equal(loadConfig({ TR_DB: 'sqlite:data/ticketrush.db' }).internal.port, 'main');
  for (const db of ['sqlite:/srv/sale.db', 'postgres://u@db:5432/t', 'mysql://u@db:3306/t'])
    assert.equal(loadConfig({ TR_DB: db }).internal.port, DEFAULT_INTERNAL_PORT, db);
  assert.equal(loadConfig({ TR_DB: 'postgres://u@db/t', TR_INTERNAL_PORT: 'main' }).internal.port, 'main');
  assert.equal(loadConfig({ TR_INTERNAL_PORT: '9100' }).internal.port, 9100);
  assert.equal(loadConfig({ TR_INTERNAL_PORT: '0' }).internal.port, 0);
  assert.equal(loadConfig({}).internal.host, '127.0.0.1');
});

test('a bad TR_INTERNAL_PORT or TR_INTERNAL_HOST stops start-up naming it', () => {
  for (const bad of ['70000', '-1', 'internal', '9 100'])
    assert.throws(
      () => loadConfig({ TR_INTERNAL_PORT: bad }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^TR_INTERNAL_PORT: expected auto, main or a port/);
        return true;
      },
    );
  assert.throws(
    () => loadConfig({ TR_INTERNAL_HOST: 'a b' }),
    /^ConfigError: TR_INTERNAL_HOST|TR_INTERNAL_HOST: expected/,
  );
});
