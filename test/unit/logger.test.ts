import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { prettyLogs } from '../../src/observability/logger.ts';

test('logs are pretty on a terminal or when asked, JSON lines otherwise', () => {
  assert.equal(prettyLogs('auto', true), true);
  assert.equal(prettyLogs('auto', false), false);
  assert.equal(prettyLogs('pretty', false), true);
  assert.equal(prettyLogs('json', true), false);
});

// One child process per format: what a person or a log shipper reads on the server's stdout.
function logLine(format: string, fields: Record<string, string> = { url: 'http://127.0.0.1:3000' }): string {
  const script = `
    import { createLogger } from ${JSON.stringify(new URL('../../src/observability/logger.ts', import.meta.url).href)};
    createLogger({ level: 'info', format: ${JSON.stringify(format)} }).info(${JSON.stringify(fields)}, 'ticketrush listening');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  assert.equal(child.status, 0, child.stderr);
  return child.stdout.trim();
}

test('pretty logs are one readable line per message; JSON logs are what pino writes', () => {
  assert.match(
    logLine('pretty'),
    /^\[\d\d:\d\d:\d\d\] INFO: ticketrush listening \{"url":"http:\/\/127\.0\.0\.1:3000"\}$/,
  );
  const json = JSON.parse(logLine('auto'));
  assert.equal(json.msg, 'ticketrush listening');
  assert.equal(json.level, 30);
  assert.equal(json.pid > 0, true);
});

test('backend URLs in log lines show no password', () => {
  const json = JSON.parse(
    logLine('json', { queue: 'redis://:secret@127.0.0.1:6379', db: 'sqlite:data/t.db' }),
  );
  assert.equal(json.queue, 'redis://:***@127.0.0.1:6379');
  assert.equal(json.db, 'sqlite:data/t.db');
});
