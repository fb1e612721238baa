import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareCommand, reportCommand } from '../../src/loadtest/cli.ts';
import { renderCompare } from '../../src/loadtest/compare.ts';
import { renderConsole } from '../../src/loadtest/report-console.ts';
import { renderHtml } from '../../src/loadtest/report-html.ts';
import type { LoadResult } from '../../src/loadtest/result.ts';

const fixturePath = new URL('./fixtures/result.json', import.meta.url).pathname;
const load = async (): Promise<LoadResult> => JSON.parse(await readFile(fixturePath, 'utf8'));

test('the console table lists every endpoint with its percentiles and outcomes', async () => {
  const result = await load();
  const text = renderConsole(result);
  for (const e of result.endpoints) assert.ok(text.includes(e.route), e.route);
  assert.match(text, /p99\.9/);
  assert.match(text, /business \(not failures\)/);
  assert.match(text, /issued \d+ -> admitted \d+ -> held \d+ -> paid \d+/);
});

test('the HTML report is self-contained: charts inline, data inline, nothing fetched', async () => {
  const result = await load();
  const html = renderHtml(result);
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok((html.match(/<svg /g) ?? []).length >= 4, 'timeline, latency, errors, funnel charts');
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i);
  const inlined = /<script type="application\/json" id="result">(.*)<\/script>/s.exec(html);
  assert.ok(inlined);
  assert.equal(JSON.parse(inlined[1]).totals.count, result.totals.count);
  assert.match(html, /queue_waiting/, 'server metrics charted');
});

test('report re-renders a stored result and applies thresholds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'loadtest-report-'));
  const out = join(dir, 'again.html');
  const lines: string[] = [];
  t.mock.method(console, 'log', (line: string) => lines.push(line));
  assert.equal(await reportCommand([fixturePath, '--html', out]), 0);
  assert.match(await readFile(out, 'utf8'), /ticketrush loadtest/);
  assert.match(lines.join('\n'), /POST \/api\/users\/:userId\/token/);
  assert.equal(await reportCommand([fixturePath, '--html', out, '--threshold', 'http_max<0.001']), 1);
});

test('compare prints per-endpoint differences', async (t) => {
  const a = await load();
  const b: LoadResult = structuredClone(a);
  b.endpoints[0].p95Ms = a.endpoints[0].p95Ms * 2;
  const text = renderCompare(a, b);
  assert.ok(text.includes(a.endpoints[0].route));
  assert.match(text, /\+100\.0%/);

  const dir = await mkdtemp(join(tmpdir(), 'loadtest-compare-'));
  const bPath = join(dir, 'b.json');
  await writeFile(bPath, JSON.stringify(b));
  const lines: string[] = [];
  t.mock.method(console, 'log', (line: string) => lines.push(line));
  assert.equal(await compareCommand([fixturePath, bPath]), 0);
  assert.match(lines.join('\n'), /\+100\.0%/);
});

test('loadtest against a server writes JSON and HTML and fails on a crossed threshold', async (t) => {
  const { startStub } = await import('./stub-server.ts');
  const { loadtestCommand } = await import('../../src/loadtest/cli.ts');
  const stub = await startStub({ pollsToAdmit: 0, delayMs: 30 });
  t.after(() => stub.close());
  const dir = await mkdtemp(join(tmpdir(), 'loadtest-run-'));
  const lines: string[] = [];
  t.mock.method(console, 'log', (line: string) => lines.push(line));
  const out = join(dir, 'run.json');
  const args = [
    '--target',
    stub.url,
    '--scenario',
    'concerts',
    '--stages',
    '1s:3',
    '--workers',
    '1',
    '--quiet',
  ];
  const code = await loadtestCommand([
    ...args,
    '--out',
    out,
    '--threshold',
    'http_p50<5',
    '--threshold',
    'failures<1%',
  ]);
  assert.equal(code, 1, 'p50 of a 30 ms server is above 5 ms');
  const stored: LoadResult = JSON.parse(await readFile(out, 'utf8'));
  assert.deepEqual(
    stored.thresholds.map((th) => th.ok),
    [false, true],
  );
  assert.ok(stored.endpoints.some((e) => e.route === 'GET /api/concerts' && e.count > 0));
  assert.match(await readFile(join(dir, 'run.html'), 'utf8'), /<svg /);
  assert.match(lines.join('\n'), /FAIL http_p50<5/);
});
