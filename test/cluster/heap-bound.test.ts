import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { criticalHeapMb, overloadLimits, v8HeapLimitMb } from '../../src/observability/overload-limits.ts';

const limits = fileURLToPath(new URL('../../src/observability/overload-limits.ts', import.meta.url));
const monitor = fileURLToPath(new URL('../../src/observability/pressure-monitor.ts', import.meta.url));
const sampler = fileURLToPath(new URL('../../src/observability/process-sampler.ts', import.meta.url));

/** Grows a retained heap 256 KB at a time under the real sampler and the default heap bound, printing each level change. */
const growUntilDeath = `
const { writeSync } = await import('node:fs');
const { overloadLimits } = await import(${JSON.stringify(limits)});
const { PressureMonitor } = await import(${JSON.stringify(monitor)});
const { processSampler } = await import(${JSON.stringify(sampler)});
const monitor = new PressureMonitor({
  sample: processSampler().sample,
  limits: overloadLimits({ maxEventLoopDelayMs: 0, maxHeapMb: 0, poolTargetMs: 50, poolIntervalMs: 500 }),
  // Written at once: the process dies before a piped console.log would flush.
  onLevelChange: (s) => writeSync(1, JSON.stringify({ level: s.level, processLevel: s.processLevel, heapUsedMb: Math.round(s.heapUsedMb) }) + '\\n'),
});
const kept = [];
for (;;) {
  for (let i = 0; i < 32; i++) kept.push(new Array(1024).fill(kept.length));
  monitor.check();
}
`;

test('the default heap bound sheds, then turns critical (waiting room and readiness), before V8 kills the process', async () => {
  const child = spawn(
    process.execPath,
    ['--max-old-space-size=96', '--input-type=module', '-e', growUntilDeath],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.notEqual(code, 0, 'the child grows its heap until V8 aborts it');
  const levels = out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; processLevel: string; heapUsedMb: number });
  assert.deepEqual(
    levels.slice(0, 2).map((l) => [l.level, l.processLevel]),
    [
      ['shed', 'shed'],
      ['critical', 'critical'],
    ],
    `${out}\n${err.slice(0, 2000)}`,
  );
  assert.ok((levels[0]?.heapUsedMb ?? 0) < (levels[1]?.heapUsedMb ?? 0), out);
});

test("V8's limit is heap_size_limit less the young generation's three semi-spaces, as flags set them", () => {
  const limitMb = getHeapStatistics().heap_size_limit / 2 ** 20;
  assert.equal(v8HeapLimitMb(['--max-semi-space-size=8']), Math.floor(limitMb - 24));
  assert.equal(
    v8HeapLimitMb(['--max_semi_space_size=4', '--max-semi-space-size=16']),
    Math.floor(limitMb - 48),
  );
  assert.equal(v8HeapLimitMb([]), Math.floor(limitMb - 96));
});

test('a configured heap bound is capped at 90% of the limit; critical lies halfway to the limit', () => {
  const limits = overloadLimits({
    maxEventLoopDelayMs: 0,
    maxHeapMb: 1_000_000,
    poolTargetMs: 50,
    poolIntervalMs: 500,
  });
  assert.equal(limits.maxHeapMb, Math.floor(limits.heapLimitMb * 0.9));
  assert.ok(criticalHeapMb(limits) < limits.heapLimitMb);
  const auto = overloadLimits({
    maxEventLoopDelayMs: 0,
    maxHeapMb: 0,
    poolTargetMs: 50,
    poolIntervalMs: 500,
  });
  assert.ok(auto.maxHeapMb < criticalHeapMb(auto) && criticalHeapMb(auto) < auto.heapLimitMb);
});
