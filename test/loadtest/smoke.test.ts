import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadtestCommand } from '../../src/loadtest/cli.ts';
import type { LoadResult } from '../../src/loadtest/result.ts';

// The CI gate of the load runner: the seed's mixed scenario, smoke profile, against ticketrush itself
// (embedded default, started by the runner), with a failure threshold.
test('smoke profile of the mixed scenario against embedded ticketrush passes failures<1%', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tr-smoke-'));
  const saved = { TR_DB: process.env.TR_DB, LOG_LEVEL: process.env.LOG_LEVEL };
  process.env.TR_DB = `sqlite:${join(dir, 'ticketrush.db')}`;
  process.env.LOG_LEVEL = 'error';
  try {
    const out = join(dir, 'mixed.json');
    const code = await loadtestCommand([
      '--scenario',
      'mixed',
      '--profile',
      'smoke',
      '--workers',
      '1',
      '--duration',
      '60s',
      '--quiet',
      '--out',
      out,
      '--threshold',
      'failures<1%',
    ]);
    const result = JSON.parse(await readFile(out, 'utf8')) as LoadResult;
    assert.equal(code, 0, JSON.stringify(result.thresholds));
    assert.ok(result.totals.count > 20, `only ${result.totals.count} requests`);
    assert.equal(result.totals.outcomes.s5xx, 0, 'no 5xx');
    assert.equal(result.totals.outcomes.connError + result.totals.outcomes.timeout, 0, 'no lost requests');
    assert.ok(result.flows.funnel.admitted > 0, 'virtual users got through the waiting room');
    const routes = result.endpoints.map((e) => e.route);
    for (const route of [
      'POST /api/users/:userId/token',
      'GET /api/users/:userId/token',
      'GET /api/concerts',
    ])
      assert.ok(routes.includes(route), `${route} was exercised`);
    assert.ok((await readFile(join(dir, 'mixed.html'), 'utf8')).includes('<html'), 'HTML report written');
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
