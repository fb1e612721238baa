import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportSPKI, generateKeyPair } from 'jose';
import { ManualClock } from '../../src/domain/clock.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { JwtIdentityVerifier } from '../../src/identity/jwt-verifier.ts';
import { AUDIENCE, ISSUER, mintJwt } from '../support/identity.ts';

const clock = new ManualClock(Date.UTC(2026, 10, 24, 12));
const claims = { issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 5 };

const rejection = async (promise: Promise<unknown>): Promise<DomainError> => {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DomainError, String(err));
    return err;
  }
  assert.fail('accepted');
};

test('RS256 with a PEM public key: the subject comes back; another key or algorithm is refused', async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const verifier = new JwtIdentityVerifier(
    { ...claims, key: { kind: 'publicKey', pem: await exportSPKI(publicKey) } },
    clock,
  );
  const jwt = await mintJwt(privateKey, clock.now(), { sub: '42' }, { alg: 'RS256' });
  assert.deepEqual(await verifier.verify(jwt), { subject: '42' });

  const other = await generateKeyPair('RS256');
  const forged = await mintJwt(other.privateKey, clock.now(), { sub: '42' }, { alg: 'RS256' });
  assert.equal((await rejection(verifier.verify(forged))).code, 'IDENTITY_INVALID');
  const ps = await generateKeyPair('PS256');
  const wrongAlg = await mintJwt(ps.privateKey, clock.now(), { sub: '42' }, { alg: 'PS256' });
  assert.match((await rejection(verifier.verify(wrongAlg))).message, /algorithm/);
});
