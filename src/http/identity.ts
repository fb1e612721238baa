import type { FastifyRequest } from 'fastify';
import type { IdentityGate } from '../domain/identity.ts';
import type { PreHandler } from './guard.ts';

/** OpenAPI scheme of the ticket site's login JWT (TR_IDENTITY=jwt). */
export const identityBearerScheme = {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description:
    "The ticket site's login JWT: `sub` is the user id, signed for this API's issuer and audience.",
} as const;

/** The token of `Authorization: Bearer <token>`; undefined for any other form. */
export function bearerTokenOf(req: FastifyRequest): string | undefined {
  const raw = req.headers.authorization?.trim();
  if (raw === undefined || raw.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  return raw.slice(7).trim() || undefined;
}

/** Requires proof that the caller is the user in the path (no proof needed with TR_IDENTITY=none). */
export function requireIdentity(identity: IdentityGate): PreHandler {
  return async (req) => {
    const { userId } = req.params as { userId: number };
    await identity.proveUser(userId, bearerTokenOf(req));
  };
}

/** The security a route that needs the user's identity declares in OpenAPI: none when identity is off. */
export const identitySecurity = (identity: IdentityGate): Array<Record<string, string[]>> =>
  identity.mode === 'jwt' ? [{ identityBearer: [] }] : [];
