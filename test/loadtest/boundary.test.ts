import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

const DIR = join(import.meta.dirname, '..', '..', 'src', 'loadtest');
const ALLOWED_PACKAGES = new Set(['undici', 'hdr-histogram-js']);

// The load runner is a product of its own: it can be pointed at any server with the seed's API.
test('the load runner imports only its own files, node built-ins, undici and hdr-histogram-js', async () => {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10, `found ${files.length} files in ${DIR}`);
  const strays: string[] = [];
  let seen = 0;
  for (const file of files) {
    const text = await readFile(join(DIR, file), 'utf8');
    const specifiers = [
      ...text.matchAll(/^import\s(?:[\w*{}\s,]+?\sfrom\s)?['"]([^'"]+)['"]/gm),
      ...text.matchAll(/^export\s(?:type\s)?(?:\*|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]/gm),
      ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1]);
    seen += specifiers.length;
    for (const spec of specifiers) {
      const own = spec.startsWith('./') && !spec.slice(2).includes('/');
      if (!own && !spec.startsWith('node:') && !ALLOWED_PACKAGES.has(spec)) strays.push(`${file} -> ${spec}`);
    }
  }
  assert.ok(seen > 50, `only ${seen} imports found: the pattern misses some`);
  assert.deepEqual(strays, []);
});
