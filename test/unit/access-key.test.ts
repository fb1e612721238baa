import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AccessKeys } from '../../src/domain/access-key.ts';

const MAX_USER = 2 ** 48 - 1;
const keys = new AccessKeys();

test('a minted key verifies to its user and issue time, and is an opaque URL-safe string', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: MAX_USER }),
      fc.integer({ min: 0, max: 2 ** 47 }),
      (userId, now) => {
        const key = keys.mint(userId, now);
        assert.match(key, /^[A-Za-z0-9_-]{52}$/);
        assert.deepEqual(keys.verify(key), { userId, issuedAt: now });
      },
    ),
  );
});

test('any change to a key, or another secret, fails verification', () => {
  const other = new AccessKeys();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_USER }), fc.nat(51), fc.nat(63), (userId, at, pick) => {
      const key = keys.mint(userId, 1_700_000_000_000);
      const replacement = alphabet[pick] === key[at] ? alphabet[(pick + 1) % 64] : alphabet[pick];
      const tampered = key.slice(0, at) + replacement + key.slice(at + 1);
      assert.equal(keys.verify(tampered), undefined);
      assert.equal(other.verify(key), undefined);
    }),
  );
});

test('anything else is refused without throwing: wrong lengths, characters, the old 22-character keys', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (text) => {
      assert.equal(keys.verify(text), undefined);
    }),
  );
  for (const text of ['', 'A'.repeat(22), 'A'.repeat(52), `${'A'.repeat(51)}=`, `${'A'.repeat(51)}.`])
    assert.equal(keys.verify(text), undefined, text);
});

test('a shared secret read when first needed: a failed read reaches the caller and is tried again', async () => {
  let reads = 0;
  const secret = Buffer.alloc(32, 7);
  const shared = new AccessKeys(async () => {
    reads++;
    if (reads === 1) throw new Error('store away');
    return secret;
  });
  assert.equal(shared.ready, false);
  await assert.rejects(shared.load(), /store away/);
  await Promise.all([shared.load(), shared.load()]);
  assert.equal(reads, 2, 'one read for concurrent callers');
  const key = shared.mint(5, 1000);
  assert.deepEqual(new AccessKeys(secret).verify(key), { userId: 5, issuedAt: 1000 });
  assert.throws(() => new AccessKeys(Buffer.alloc(31)), /at least 32 bytes/);
});
