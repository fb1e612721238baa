import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUDIENCE, hsKey, ISSUER, mintJwt, SECRET } from '../support/identity.ts';
import { type ServerProcess, spawnServer } from './server-process.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const small = {
  TR_DEMO_USERS: '20',
  TR_DEMO_SCHEDULES: '2',
  TR_DEMO_SCHEDULES_PER_CONCERT: '2',
  TR_DEMO_SEATS: '5',
  // The most a deployment could log.
  LOG_LEVEL: 'trace',
};
const jwtEnv = {
  TR_IDENTITY: 'jwt',
  TR_JWT_SECRET: SECRET,
  TR_JWT_ISSUER: ISSUER,
  TR_JWT_AUDIENCE: AUDIENCE,
};

describe('identity in a real server process: what reaches the logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tr-identity-logs-'));
  let jwtServer: ServerProcess;
  let demoServer: ServerProcess;
  before(async () => {
    jwtServer = await spawnServer('jwt', { ...small, ...jwtEnv, TR_DB: `sqlite:${join(dir, 'jwt.db')}` });
    demoServer = await spawnServer('demo', { ...small, TR_DB: `sqlite:${join(dir, 'demo.db')}` });
  });
  after(async () => {
    await jwtServer?.stop();
    await demoServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('neither the shared secret nor any identity token is ever logged, whatever the requests', async () => {
    const now = Date.now();
    const tokens = [
      await mintJwt(hsKey(), now, { sub: '3' }),
      await mintJwt(hsKey(), now, { sub: '4' }),
      await mintJwt(hsKey(), now, { sub: '3', expiresIn: -600 }),
      await mintJwt(hsKey('not-the-secret-0123456789-abcdefghijk'), now, { sub: '3' }),
    ];
    const statuses: number[] = [];
    for (const jwt of tokens) {
      const res = await fetch(`${jwtServer.url}/api/users/3/token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'x-request-id': 'identity-logs' },
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 403, 401, 401]);
    await jwtServer.stop();
    const logs = jwtServer.stdout() + jwtServer.stderr();
    assert.match(logs, /"identity":"jwt"/, 'the start-up line says identity is on');
    assert.ok(!logs.includes(SECRET), 'the secret');
    for (const jwt of tokens) {
      const signature = jwt.split('.')[2] ?? '';
      assert.ok(!logs.includes(signature), `a token: ${signature.slice(0, 8)}...`);
    }
    assert.doesNotMatch(logs, /TR_IDENTITY=none/, 'no demo warning with identity on');
  });

  test('the demo (TR_IDENTITY=none) warns at start that anyone may take any place', async () => {
    await demoServer.stop();
    const warning = (demoServer.stdout() + demoServer.stderr())
      .split('\n')
      .filter((line) => line.includes('TR_IDENTITY=none'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    assert.equal(warning.length, 1);
    assert.equal(warning[0]?.level, 40, 'a warning');
  });

  test('jwt mode without a usable key does not start, naming the setting and not echoing the secret', () => {
    const short = 'too-short-but-still-secret';
    const run = spawnSync(process.execPath, ['src/cli.ts', 'serve'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        ...jwtEnv,
        TR_JWT_SECRET: short,
        TR_DB: `sqlite:${join(dir, 'never.db')}`,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^ticketrush: TR_JWT_SECRET: expected at least 32 bytes/m);
    assert.ok(!(run.stdout + run.stderr).includes(short));

    const keyless = spawnSync(process.execPath, ['src/cli.ts', 'serve'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, TR_IDENTITY: 'jwt', TR_DB: `sqlite:${join(dir, 'never.db')}` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(keyless.status, 1, keyless.stderr);
    assert.match(keyless.stderr, /TR_IDENTITY: .*TR_JWT_SECRET, TR_JWT_PUBLIC_KEY or TR_JWT_JWKS_URL/);
  });
});
