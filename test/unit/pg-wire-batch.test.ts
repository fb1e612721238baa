import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { DIALECT_CAPABILITIES } from '../../src/db/database.ts';
import { pgWireBatchSupported, wireBatchSupportedBy } from '../../src/db/prepared-statements.ts';

const fn = () => {};
const wire = { parse: fn, bind: fn, describe: fn, execute: fn, sync: fn };
const result = { addFields: fn, parseRow: fn };

test('the installed pg has the internals a batch behind one Sync writes and reads with', () => {
  assert.equal(pgWireBatchSupported, true);
  assert.equal(wireBatchSupportedBy(pg as unknown as Parameters<typeof wireBatchSupportedBy>[0]), true);
  assert.equal(DIALECT_CAPABILITIES.postgres.statementsBehindOneSync, true);
});

test('a pg that moved any of them is detected, so the adapter sends statements one by one instead', () => {
  assert.equal(
    wireBatchSupportedBy({ Connection: { prototype: wire }, Result: { prototype: result } }),
    true,
  );
  for (const missing of Object.keys(wire)) {
    const { [missing as keyof typeof wire]: _, ...rest } = wire;
    assert.equal(
      wireBatchSupportedBy({ Connection: { prototype: rest }, Result: { prototype: result } }),
      false,
      missing,
    );
  }
  assert.equal(
    wireBatchSupportedBy({ Connection: { prototype: wire }, Result: { prototype: { addFields: fn } } }),
    false,
  );
  assert.equal(wireBatchSupportedBy({ Result: { prototype: result } }), false);
  assert.equal(
    wireBatchSupportedBy({ Connection: { prototype: { ...wire, sync: 'not a function' } } }),
    false,
  );
});
