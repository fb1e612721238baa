import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchedCalls, type BatchSender, BUSY, MAX_BATCH, MIN_BATCH } from '../../src/db/batched-calls.ts';

/** A sender that records its calls and answers each hold with its own value, once released. */
function recorder(opts: { many?: (values: readonly number[]) => Promise<(number | undefined)[]> } = {}) {
  const calls: Array<{ kind: 'one' | 'many'; values: number[] }> = [];
  const gates: Array<() => void> = [];
  let held = false;
  const gate = () => (held ? new Promise<void>((r) => gates.push(r)) : Promise.resolve());
  const send: BatchSender<number, number> = {
    async one(v) {
      calls.push({ kind: 'one', values: [v] });
      await gate();
      return v;
    },
    async many(values) {
      calls.push({ kind: 'many', values: [...values] });
      await gate();
      return opts.many ? opts.many(values) : values.map((v) => v * 10);
    },
  };
  return {
    send,
    calls,
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const g of gates.splice(0)) g();
    },
  };
}

test(`fewer than ${MIN_BATCH} writes arriving together go alone`, async () => {
  const r = recorder();
  const batches = new BatchedCalls(r.send);
  assert.deepEqual(await Promise.all([batches.call(1), batches.call(2)]), [1, 2]);
  assert.deepEqual(r.calls, [
    { kind: 'one', values: [1] },
    { kind: 'one', values: [2] },
  ]);
  assert.deepEqual(batches.sent, { batches: 0, batched: 0, alone: 2, again: 0 });
});

test(`writes go alone while fewer than ${BUSY} calls run; those arriving after wait, then go in one call`, async () => {
  const r = recorder();
  const batches = new BatchedCalls(r.send);
  const values = Array.from({ length: 10 }, (_, i) => i + 1);
  assert.deepEqual(
    await Promise.all(values.map((v) => batches.call(v))),
    [1, 2, 3, 4, 50, 60, 70, 80, 90, 100],
  );
  assert.deepEqual(r.calls, [
    { kind: 'one', values: [1] },
    { kind: 'one', values: [2] },
    { kind: 'one', values: [3] },
    { kind: 'one', values: [4] },
    { kind: 'many', values: [5, 6, 7, 8, 9, 10] },
  ]);
  assert.deepEqual(batches.sent, { batches: 1, batched: 6, alone: 4, again: 0 });
});

test(`at most ${MAX_BATCH} writes go in one call`, async () => {
  const r = recorder();
  const batches = new BatchedCalls(r.send, 1);
  await Promise.all(Array.from({ length: MAX_BATCH + 11 }, (_, i) => batches.call(i)));
  assert.deepEqual(
    r.calls.map((c) => [c.kind, c.values.length]),
    [
      ['one', 1],
      ['many', MAX_BATCH],
      ['many', 10],
    ],
  );
});

test('while the busy number of calls runs, arriving writes wait and then go together', async () => {
  const r = recorder();
  const batches = new BatchedCalls(r.send, 1);
  r.hold();
  const first = batches.call(1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.calls, [{ kind: 'one', values: [1] }]);
  const later = [2, 3, 4, 5].map((v) => batches.call(v));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(r.calls.length, 1, 'nothing more is sent while the database is busy');
  r.release();
  assert.equal(await first, 1);
  assert.deepEqual(await Promise.all(later), [20, 30, 40, 50]);
  assert.deepEqual(r.calls[1], { kind: 'many', values: [2, 3, 4, 5] });
});

test('a batch the server refused (rolled back whole) goes again write by write', async () => {
  const refused = Object.assign(new Error('deadlock'), { errno: 1213, sqlState: '40001' });
  const r = recorder({ many: () => Promise.reject(refused) });
  const batches = new BatchedCalls(r.send, 1);
  assert.deepEqual(await Promise.all([0, 1, 2, 3].map((v) => batches.call(v))), [0, 1, 2, 3]);
  assert.deepEqual(
    r.calls.map((c) => c.kind),
    ['one', 'many', 'one', 'one', 'one'],
  );
  assert.deepEqual(batches.sent, { batches: 0, batched: 0, alone: 1, again: 3 });
});

test('a write the batch left unanswered goes again alone', async () => {
  const r = recorder({ many: async (values) => values.map((v) => (v % 2 ? v * 10 : undefined)) });
  const batches = new BatchedCalls(r.send, 1);
  assert.deepEqual(await Promise.all([0, 1, 2, 3, 4].map((v) => batches.call(v))), [0, 10, 2, 30, 4]);
  assert.deepEqual(
    r.calls.map((c) => [c.kind, c.values]),
    [
      ['one', [0]],
      ['many', [1, 2, 3, 4]],
      ['one', [2]],
      ['one', [4]],
    ],
  );
  assert.deepEqual(batches.sent, { batches: 1, batched: 4, alone: 1, again: 2 });
});

for (const [name, lost] of [
  ['lost', Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true })],
  [
    'reset',
    Object.assign(new Error('read ECONNRESET'), { errno: -104, code: 'ECONNRESET', syscall: 'read' }),
  ],
] as const)
  test(`a batch whose connection was ${name} is not sent again: its COMMIT may have landed`, async () => {
    const r = recorder({ many: () => Promise.reject(lost) });
    const batches = new BatchedCalls(r.send, 1);
    const results = await Promise.allSettled([0, 1, 2, 3].map((v) => batches.call(v)));
    assert.deepEqual(
      results.map((x) => (x.status === 'rejected' ? x.reason : x.value)),
      [0, lost, lost, lost],
    );
    assert.deepEqual(
      r.calls.map((c) => c.kind),
      ['one', 'many'],
    );
  });

test('writes with the same distinct key never share a call: the later ones keep their place for the next', async () => {
  const r = recorder();
  const batches = new BatchedCalls({ ...r.send, distinct: (v: number) => v % 4 }, 1);
  const values = [0, 1, 2, 3, 5, 6, 7, 8, 9];
  assert.deepEqual(
    await Promise.all(values.map((v) => batches.call(v))),
    [0, 10, 20, 30, 50, 60, 70, 80, 9], // 0 and 9 went alone
  );
  // After 0, keys 1 2 3 1 2 3 0 1: the first batch takes one of each key in line order, the next the rest.
  assert.deepEqual(r.calls, [
    { kind: 'one', values: [0] },
    { kind: 'many', values: [1, 2, 3, 8] },
    { kind: 'many', values: [5, 6, 7] },
    { kind: 'one', values: [9] },
  ]);
});

test('writes arriving in the turn a call ended go together at its end, though the database has room', async () => {
  const r = recorder();
  const batches = new BatchedCalls(r.send);
  const again = await batches.call(1).then(() => Promise.all([2, 3, 4, 5].map((v) => batches.call(v))));
  assert.deepEqual(again, [20, 30, 40, 50]);
  assert.deepEqual(r.calls, [
    { kind: 'one', values: [1] },
    { kind: 'many', values: [2, 3, 4, 5] },
  ]);
  // A later turn with no call ended: alone at once again.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await batches.call(6), 6);
  assert.deepEqual(r.calls.at(-1), { kind: 'one', values: [6] });
});
