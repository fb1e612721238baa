// `npm test`: the type check, the lint/format check, then every test file under test/ on Node's test runner.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const bin = (name: string) => join(import.meta.dirname, '..', 'node_modules', '.bin', name);
const steps: Array<[label: string, cmd: string, args: string[]]> = [
  ['type check (tsc --noEmit)', bin('tsc'), ['--noEmit']],
  ['type check of the pages (tsc --noEmit -p web)', bin('tsc'), ['--noEmit', '-p', 'web']],
  ['lint and format (biome check)', bin('biome'), ['check', '.']],
  [
    'tests (node --test)',
    process.execPath,
    [
      '--test',
      '--test-concurrency=2',
      '--test-timeout=300000',
      ...(process.argv.slice(2).length ? process.argv.slice(2) : ['test/**/*.test.ts']),
    ],
  ],
];

for (const [label, cmd, args] of steps) {
  const started = Date.now();
  console.log(`\n== ${label}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`== ${label} failed after ${secs} s (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  console.log(`== ${label} passed in ${secs} s`);
}
