import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadtestCommand } from '../../src/loadtest/cli.ts';
import { checkTarget, isLoopbackHost } from '../../src/loadtest/target.ts';

test('only loopback targets are allowed by default', () => {
  for (const host of ['127.0.0.1', '127.5.6.7', 'localhost', '[::1]', '::ffff:127.0.0.1']) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ['10.0.0.1', '192.168.1.2', 'example.com', '[2001:db8::1]', '0.0.0.0']) {
    assert.equal(isLoopbackHost(host), false, host);
  }
  assert.equal(checkTarget('http://127.0.0.1:3000', false), undefined);
  assert.match(checkTarget('http://example.com', false) ?? '', /--allow-remote/);
  assert.equal(checkTarget('http://example.com', true), undefined);
  assert.match(checkTarget('ftp://127.0.0.1', true) ?? '', /http/);
});

test('loadtest refuses a non-loopback target before sending anything', async (t) => {
  const errors: string[] = [];
  t.mock.method(console, 'error', (line: string) => errors.push(line));
  const code = await loadtestCommand(['--target', 'http://203.0.113.9:8080', '--profile', 'smoke']);
  assert.equal(code, 2);
  assert.match(errors.join('\n'), /refusing to load-test 203\.0\.113\.9:8080.*--allow-remote/);
});

test('bad options give a usage error, not a run', async (t) => {
  const errors: string[] = [];
  t.mock.method(console, 'error', (line: string) => errors.push(line));
  assert.equal(await loadtestCommand(['--scenario', 'lottery']), 2);
  assert.equal(await loadtestCommand(['--threshold', 'speed<9']), 2);
  // Checked before anything starts: no embedded server is launched for a bad number.
  assert.equal(await loadtestCommand(['--think-scale', 'fast']), 2);
  assert.equal(errors.length, 3);
  assert.match(errors[2], /--think-scale must be a number/);
});
