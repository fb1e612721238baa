import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';

test('TR_ADMIN_BOOTSTRAP_KEY is optional, and a refused one is named by its length, never its text', () => {
  assert.equal(loadConfig({}).adminBootstrapKey.reveal(), '');
  const key = 'k'.repeat(40);
  const config = loadConfig({ TR_ADMIN_BOOTSTRAP_KEY: key });
  assert.equal(config.adminBootstrapKey.reveal(), key);
  assert.ok(!JSON.stringify(config).includes(key), 'a config printed whole does not show it');
  assert.throws(() => loadConfig({ TR_ADMIN_BOOTSTRAP_KEY: 'too-short-secret' }), {
    name: 'ConfigError',
    message:
      'TR_ADMIN_BOOTSTRAP_KEY: expected 32 to 256 printable characters without spaces, got "16 characters"',
  });
});
