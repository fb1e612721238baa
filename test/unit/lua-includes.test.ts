import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadScript } from '../../src/queue/redis-store.ts';

const scriptsDir = new URL('../../src/queue/scripts/', import.meta.url);

test('every queue script loads with its includes spliced in, and none is left as a comment', () => {
  const files = readdirSync(scriptsDir).filter((f) => f.endsWith('.lua'));
  assert.ok(files.length >= 10);
  for (const file of files) {
    const lua = loadScript(file);
    assert.doesNotMatch(lua, /^-- include:/m, file);
    // A script calling the shared checks has them defined above, once.
    for (const fn of ['checkPrefix', 'checkAccessKey']) {
      const use = lua.indexOf(`= ${fn}(`);
      if (use < 0) continue;
      assert.equal(lua.split(`local function ${fn}(`).length, 2, `${file} defines ${fn} once`);
      assert.ok(lua.indexOf(`local function ${fn}(`) < use, `${file}: ${fn} defined before use`);
    }
  }
});

test('a missing or nested include fails loudly, naming the script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tr-lua-'));
  try {
    const url = pathToFileURL(`${dir}/`);
    writeFileSync(join(dir, 'a-1.lua'), '-- header\n-- include: lib/absent.lua\nreturn 1\n');
    assert.throws(
      () => loadScript('a-1.lua', url),
      /Lua script a-1\.lua: cannot read its include lib\/absent\.lua/,
    );
    writeFileSync(join(dir, 'b-1.lua'), '-- include: c.lua\nreturn f()\n');
    writeFileSync(join(dir, 'c.lua'), '-- include: d.lua\nlocal function f() return 1 end\n');
    assert.throws(() => loadScript('b-1.lua', url), /Lua script b-1\.lua: .*includes do not nest/);
    writeFileSync(join(dir, 'c.lua'), 'local function f() return 1 end\n');
    assert.equal(loadScript('b-1.lua', url), 'local function f() return 1 end\nreturn f()\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
