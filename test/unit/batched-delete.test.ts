import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteInBatches } from '../../src/db/batched-delete.ts';

test('deleteInBatches asks for bounded batches until one comes back short, letting other work run between', async () => {
  let left = 1234;
  const asked: number[] = [];
  const between: number[] = [];
  const total = await deleteInBatches(async (size) => {
    asked.push(size);
    // Work queued now runs before the next batch only if the loop yields.
    setImmediate(() => between.push(asked.length));
    const n = Math.min(size, left);
    left -= n;
    return n;
  }, 500);
  assert.equal(total, 1234);
  assert.deepEqual(asked, [500, 500, 500]);
  assert.deepEqual(between.slice(0, 2), [1, 2]);
});

test('deleteInBatches stops after one call when nothing is left', async () => {
  let calls = 0;
  assert.equal(
    await deleteInBatches(async () => {
      calls++;
      return 0;
    }),
    0,
  );
  assert.equal(calls, 1);
});
