import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { TimerWheel } from '../../src/loadtest/timer-wheel.ts';

test('the timer wheel wakes sleepers in due order, never before due, and flushes the rest', async () => {
  const woken: { name: string; late: number }[] = [];
  const due = new Map<string, number>();
  const wheel = new TimerWheel<string>((name) => {
    woken.push({ name, late: performance.now() - (due.get(name) ?? 0) });
    if (name === 'b') {
      due.set('d', performance.now()); // scheduled while its slot runs: due at once, still woken
      wheel.at(performance.now(), 'd');
    }
  });
  const now = performance.now();
  for (const [name, ms] of [
    ['c', 60],
    ['a', 0],
    ['b', 30],
    ['late', 60_000],
  ] as const) {
    due.set(name, now + ms);
    wheel.at(now + ms, name);
  }
  assert.equal(wheel.size, 4);
  while (woken.length < 4) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    woken.map((w) => w.name),
    ['a', 'b', 'd', 'c'],
  );
  assert.ok(
    woken.every((w) => w.late >= 0),
    `no sleeper wakes before it is due: ${woken.map((w) => w.late)}`,
  );
  assert.equal(wheel.size, 1);
  wheel.flush();
  assert.equal(woken.at(-1)?.name, 'late', 'flush wakes the sleepers left');
  assert.equal(wheel.size, 0);
});
