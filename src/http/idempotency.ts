import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../domain/errors.ts';
import type { IdempotencyService } from '../domain/idempotency.ts';
import { errorBody, httpStatusOf } from './errors.ts';

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Retry-safe key; the same key and body within 24 h replay the answer',
    }),
  ),
});

/** Runs the work once per Idempotency-Key (when the client sent one) and replays the stored answer after. */
export async function idempotent<T>(
  service: IdempotencyService,
  req: FastifyRequest,
  reply: FastifyReply,
  scope: string,
  work: () => Promise<T>,
): Promise<T> {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return work();
  if (typeof key !== 'string' || key.length === 0 || key.length > 128) {
    throw new DomainError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 128 characters');
  }
  const hash = createHash('sha256')
    .update(
      `${req.method} ${req.routeOptions.url}\n${JSON.stringify(req.params)}\n${JSON.stringify(req.body ?? null)}`,
    )
    .digest('hex');
  const { outcome, replayed } = await service.run(scope, key, hash, work);
  if (replayed) reply.header('idempotent-replayed', 'true');
  if (outcome.ok) return reply.status(200).send(outcome.value) as never;
  // A replayed refusal is sent as it was first answered, so the route's own type does not apply.
  const { code, message, details } = outcome.error;
  return reply.status(httpStatusOf(code)).send(errorBody(code, message, details)) as never;
}
