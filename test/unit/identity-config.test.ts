import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { exportSPKI, generateKeyPair } from 'jose';
import { ConfigError, loadConfig } from '../../src/config.ts';

const SECRET = 'a-shared-secret-of-more-than-32-bytes!!';
const claims = { TR_JWT_ISSUER: 'https://login.example', TR_JWT_AUDIENCE: 'ticketrush' };

const failure = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(Object.keys(env))}`);
};

test('identity is off by default (the demo) and the limits have generous defaults', () => {
  const c = loadConfig({});
  assert.equal(c.identity.mode, 'none');
  assert.deepEqual(c.tokenRateLimit, { perIpPerMinute: 120, perUserPerMinute: 10 });
  assert.deepEqual(c.corsOrigins, []);
});

test('jwt mode without a key stops start-up naming the settings', () => {
  assert.match(
    failure({ TR_IDENTITY: 'jwt', ...claims }),
    /^TR_IDENTITY: .*TR_JWT_SECRET, TR_JWT_PUBLIC_KEY or TR_JWT_JWKS_URL/,
  );
  assert.match(
    failure({
      TR_IDENTITY: 'jwt',
      ...claims,
      TR_JWT_SECRET: SECRET,
      TR_JWT_JWKS_URL: 'https://login.example/jwks',
    }),
    /^TR_IDENTITY: expected exactly one verification key/,
  );
  assert.match(
    failure({ TR_IDENTITY: 'jwt', TR_JWT_SECRET: SECRET, TR_JWT_AUDIENCE: 'x' }),
    /^TR_JWT_ISSUER: /,
  );
  assert.match(
    failure({ TR_IDENTITY: 'jwt', TR_JWT_SECRET: SECRET, TR_JWT_ISSUER: 'x' }),
    /^TR_JWT_AUDIENCE: /,
  );
  assert.match(failure({ TR_IDENTITY: 'ldap' }), /^TR_IDENTITY: expected one of none, jwt/);
});

test('a short secret is refused without echoing it; a kept secret never prints', () => {
  const short = 'hunter2-hunter2';
  const message = failure({ TR_IDENTITY: 'jwt', ...claims, TR_JWT_SECRET: short });
  assert.match(message, /^TR_JWT_SECRET: expected at least 32 bytes, got "15 bytes"$/);
  assert.ok(!message.includes(short));

  const c = loadConfig({ TR_IDENTITY: 'jwt', ...claims, TR_JWT_SECRET: SECRET });
  for (const printed of [JSON.stringify(c), inspect(c, { depth: 10 }), String(c.identity.secret)])
    assert.ok(!printed.includes(SECRET), printed);
});

test('public keys: RSA or P-256 PEM, with \\n escapes as env files write them; JWKS over https (http on localhost)', async () => {
  const { publicKey } = await generateKeyPair('RS256', { extractable: true });
  const pem = await exportSPKI(publicKey);
  const escaped = pem.replaceAll('\n', '\\n');
  const c = loadConfig({ TR_IDENTITY: 'jwt', ...claims, TR_JWT_PUBLIC_KEY: escaped });
  assert.equal(c.identity.publicKeyPem, pem);
  assert.match(
    failure({ TR_IDENTITY: 'jwt', ...claims, TR_JWT_PUBLIC_KEY: 'not a pem' }),
    /^TR_JWT_PUBLIC_KEY: /,
  );
  const { publicKey: ed } = await generateKeyPair('EdDSA', { extractable: true });
  assert.match(
    failure({ TR_IDENTITY: 'jwt', ...claims, TR_JWT_PUBLIC_KEY: await exportSPKI(ed) }),
    /^TR_JWT_PUBLIC_KEY: expected an RSA or P-256/,
  );

  loadConfig({
    TR_IDENTITY: 'jwt',
    ...claims,
    TR_JWT_JWKS_URL: 'https://login.example/.well-known/jwks.json',
  });
  loadConfig({ TR_IDENTITY: 'jwt', ...claims, TR_JWT_JWKS_URL: 'http://127.0.0.1:8080/jwks.json' });
  assert.match(
    failure({ TR_IDENTITY: 'jwt', ...claims, TR_JWT_JWKS_URL: 'http://login.example/jwks.json' }),
    /^TR_JWT_JWKS_URL: expected an https:\/\/ URL/,
  );
});

test('CORS origins and trusted proxies are lists checked item by item', () => {
  assert.deepEqual(loadConfig({ TR_CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).corsOrigins, [
    'https://a.example',
    'http://localhost:5173',
  ]);
  assert.match(failure({ TR_CORS_ORIGINS: 'https://a.example/path' }), /^TR_CORS_ORIGINS: /);
  assert.match(failure({ TR_CORS_ORIGINS: '*' }), /^TR_CORS_ORIGINS: /);
  assert.deepEqual(loadConfig({ TR_TRUST_PROXY: '10.0.0.0/8,::1' }).trustProxy, ['10.0.0.0/8', '::1']);
  assert.match(failure({ TR_TRUST_PROXY: 'yes' }), /^TR_TRUST_PROXY: /);
});
