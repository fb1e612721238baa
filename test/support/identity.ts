import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export const ISSUER = 'https://login.tickets.test';
export const AUDIENCE = 'ticketrush';
export const SECRET = 'test-secret-0123456789-abcdefghij-KLMNOP';

export interface Claims {
  sub?: string;
  iss?: string;
  aud?: string;
  /** Seconds from `now` to expiry; negative for an expired token. */
  expiresIn?: number;
}

/** An identity JWT as a ticket site's login would mint it, issued at `now` (ms). */
export async function mintJwt(
  key: Uint8Array | CryptoKey,
  now: number,
  claims: Claims = {},
  header: { alg: string; kid?: string } = { alg: 'HS256' },
): Promise<string> {
  const iat = Math.floor(now / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader(header)
    .setIssuedAt(iat)
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setExpirationTime(iat + (claims.expiresIn ?? 300));
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  return jwt.sign(key);
}

export const hsKey = (secret = SECRET) => new TextEncoder().encode(secret);

/** An ES256 key pair with its public JWK (kid set), as an identity provider publishes it. */
export async function es256Key(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { privateKey, publicKey, jwk };
}

/** A JWKS endpoint on 127.0.0.1, as the identity provider serves it. */
export async function serveJwks(
  keys: JWK[],
): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
