import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../src/domain/ids.ts';
import { copyRandomInto } from '../../src/domain/random-pool.ts';

test('ids are UUIDv7, ordered by their time, and distinct across many refills of the random pool', () => {
  const now = Date.UTC(2026, 10, 26);
  const ids = Array.from({ length: 5000 }, (_, i) => newId(now + i));
  const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.ok(ids.every((id) => v7.test(id)));
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids, 'later ids sort after earlier ones');
  assert.equal(Number.parseInt(ids[0].replace(/-/g, '').slice(0, 12), 16), now);
  // The random part of ids made in the same millisecond differs (10 bytes each, 400 per 4 KiB of pool).
  const same = Array.from({ length: 1000 }, () => newId(now).slice(14));
  assert.equal(new Set(same).size, same.length);
});

test('the pool hands out each random byte once and refuses more than it holds', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.alloc(12);
    copyRandomInto(b, 0, 12);
    seen.add(b.toString('hex'));
  }
  assert.equal(seen.size, 2000);
  assert.throws(() => copyRandomInto(Buffer.alloc(5000), 0, 5000), RangeError);
});
