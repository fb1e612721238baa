import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { README, settingsTable, tableIn } from '../../scripts/settings-table.ts';
import { loadConfig, settings } from '../../src/config.ts';
import { redactUrl } from '../../src/redact.ts';

test("README's settings table is the one the settings table generates", () => {
  const inReadme = tableIn(readFileSync(README, 'utf8'));
  assert.ok(inReadme, 'README.md has the <!-- settings:start --> and <!-- settings:end --> markers');
  assert.equal(inReadme, settingsTable(), 'run `npm run docs:settings -- --write` to refresh README.md');
});

test('every setting has one name and one line of meaning', () => {
  const names = settings.map((s) => s.name);
  assert.equal(new Set(names).size, names.length, 'no variable is listed twice');
  for (const s of settings) assert.match(s.description, /^[^\n]+$/, s.name);
});

test('redactUrl hides passwords in the user info and in password query parameters', () => {
  const cases: Array<[string, string]> = [
    ['postgres://u:secret@127.0.0.1:1/x', 'postgres://u:***@127.0.0.1:1/x'],
    ['redis://:secret@127.0.0.1:6379', 'redis://:***@127.0.0.1:6379'],
    ['nats://u:se@cr/et@nats:4222', 'nats://u:***@nats:4222'],
    ['mysql://u:p%40ss@h/db?password=secret&ssl=true', 'mysql://u:***@h/db?password=***&ssl=true'],
    ['postgres://u@h:5432/db', 'postgres://u@h:5432/db'],
    ['postgres://h:5432/db?application_name=a@b', 'postgres://h:5432/db?application_name=a@b'],
    ['sqlite:data/ticketrush.db', 'sqlite:data/ticketrush.db'],
    ['memory', 'memory'],
  ];
  for (const [url, shown] of cases) assert.equal(redactUrl(url), shown, url);
});

test('an invalid TR_DB, TR_QUEUE or TR_EVENTS is named without its password', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ TR_DB: 'oracle://u:secret@127.0.0.1:1/x' }, '"oracle://u:***@127.0.0.1:1/x"'],
    [{ TR_QUEUE: 'kafka://u:secret@127.0.0.1:9092' }, '"kafka://u:***@127.0.0.1:9092"'],
    [{ TR_EVENTS: 'amqp://u:secret@127.0.0.1:5672' }, '"amqp://u:***@127.0.0.1:5672"'],
  ];
  for (const [env, shown] of cases) {
    const [name] = Object.keys(env);
    assert.throws(
      () => loadConfig(env),
      (err: Error) => err.message.startsWith(`${name}: expected `) && err.message.endsWith(`got ${shown}`),
      name,
    );
  }
});

test('TR_LOG_FORMAT is auto unless set to pretty or json', () => {
  assert.equal(loadConfig({}).logFormat, 'auto');
  assert.equal(loadConfig({ TR_LOG_FORMAT: 'json' }).logFormat, 'json');
  assert.throws(() => loadConfig({ TR_LOG_FORMAT: 'xml' }), {
    name: 'ConfigError',
    message: 'TR_LOG_FORMAT: expected one of auto, pretty, json, got "xml"',
  });
});
