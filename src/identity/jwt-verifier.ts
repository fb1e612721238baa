import { createPublicKey } from 'node:crypto';
import { createRemoteJWKSet, errors, importSPKI, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Clock } from '../domain/clock.ts';
import { DomainError } from '../domain/errors.ts';
import type { IdentityVerifier, VerifiedIdentity } from '../domain/identity.ts';
import type { Secret } from '../secret.ts';

/** Where the signature is checked from: the login service's shared secret, its public key, or its JWKS. */
export type JwtKeySource =
  | { kind: 'secret'; secret: Secret }
  | { kind: 'publicKey'; pem: string }
  | { kind: 'jwksUrl'; url: string };

export interface JwtSettings {
  key: JwtKeySource;
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
}

type Key = Uint8Array | CryptoKey | JWTVerifyGetKey;

/** The only algorithm a PEM public key may sign with, from its type; none for other key types. */
export function algorithmOfPublicKey(pem: string): 'RS256' | 'ES256' | undefined {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

const reasons: Record<string, string> = {
  ERR_JWT_EXPIRED: 'The identity token has expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'The identity token signature does not verify',
  ERR_JOSE_ALG_NOT_ALLOWED: 'The identity token is signed with an algorithm this server does not accept',
  ERR_JWKS_NO_MATCHING_KEY: 'No key of the identity provider matches the identity token',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'Several keys of the identity provider match the identity token',
};

/** The identity provider itself failed (JWKS unreachable, slow or malformed): not the caller's fault. */
const providerFailure = (err: unknown) =>
  !(err instanceof errors.JOSEError) ||
  err.code === 'ERR_JWKS_TIMEOUT' ||
  err.code === 'ERR_JWKS_INVALID' ||
  err.code === 'ERR_JOSE_GENERIC';

/** Verifies the ticket site's identity JWTs with `jose`: signature, issuer, audience, expiry and a subject. */
export class JwtIdentityVerifier implements IdentityVerifier {
  readonly #settings: JwtSettings;
  readonly #clock: Clock;
  readonly #algorithms: string[];
  readonly #key: Promise<Key>;

  constructor(settings: JwtSettings, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
    const source = settings.key;
    if (source.kind === 'secret') {
      this.#algorithms = ['HS256'];
      this.#key = Promise.resolve(new TextEncoder().encode(source.secret.reveal()));
    } else if (source.kind === 'publicKey') {
      const alg = algorithmOfPublicKey(source.pem) ?? 'RS256';
      this.#algorithms = [alg];
      this.#key = importSPKI(source.pem, alg);
    } else {
      this.#algorithms = ['RS256', 'ES256'];
      this.#key = Promise.resolve(createRemoteJWKSet(new URL(source.url), { timeoutDuration: 3000 }));
    }
  }

  async verify(token: string): Promise<VerifiedIdentity> {
    const key = await this.#key;
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms: this.#algorithms,
        issuer: this.#settings.issuer,
        audience: this.#settings.audience,
        clockTolerance: this.#settings.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(this.#clock.now()),
      });
      if (typeof payload.sub !== 'string' || payload.sub === '')
        throw new DomainError('IDENTITY_INVALID', 'The identity token names no subject');
      return { subject: payload.sub };
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if (this.#settings.key.kind === 'jwksUrl' && providerFailure(err))
        throw new DomainError(
          'IDENTITY_UNAVAILABLE',
          'The identity provider keys cannot be fetched; retry later',
          {
            retryAfterSeconds: 5,
          },
        );
      throw new DomainError('IDENTITY_INVALID', invalidReason(err));
    }
  }
}

function invalidReason(err: unknown): string {
  if (err instanceof errors.JWTClaimValidationFailed)
    return `The identity token's "${err.claim}" claim is not accepted (${err.reason})`;
  return (err instanceof errors.JOSEError && reasons[err.code]) || 'The identity token is malformed';
}
