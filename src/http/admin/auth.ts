import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../domain/admin/audit.ts';
import type { OperatorKeys } from '../../domain/admin/operator-keys.ts';

/** The name OpenAPI documents the operator credential under. */
export const OPERATOR_KEY_SCHEME = 'operatorKey';

const operators = new WeakMap<FastifyRequest, Actor>();

/** `Authorization: Bearer <key>`; anything else is no key at all. */
export function bearerKey(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S{1,512})$/i.exec(header ?? '');
  return m?.[1];
}

/** Runs before the body is read: an unauthenticated upload is refused without parsing it. */
export function operatorAuth(keys: OperatorKeys) {
  return async (req: FastifyRequest): Promise<void> => {
    operators.set(req, await keys.authenticate(bearerKey(req.headers.authorization)));
  };
}

/** The operator whose key authorised this request. */
export function operatorOf(req: FastifyRequest): Actor {
  const actor = operators.get(req);
  if (!actor) throw new Error('operatorOf: the route is not behind operatorAuth');
  return actor;
}
