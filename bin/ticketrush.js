#!/usr/bin/env node
// Runs the TypeScript CLI on the pinned Node (the `node` devDependency) when the caller's Node cannot strip types.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'src', 'cli.ts');
const major = Number(process.versions.node.split('.')[0]);
let node = process.execPath;
if (major < 23) {
  try {
    node = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch {
    console.error('ticketrush: needs Node 23.6 or newer; run `npm ci` to install the pinned runtime');
    process.exit(1);
  }
}
const result = spawnSync(node, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
