import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../domain/errors.ts';
import type {
  IdempotencyService,
  IdempotencyTx,
  IdempotentOutcome,
  IdempotentRequest,
  RunOptions,
  Seal,
} from '../domain/idempotency.ts';
import { errorBody, httpStatusOf } from './errors.ts';
import type { PreHandler } from './guard.ts';
import { accessKeyOf } from './queue.ts';

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Retry-safe key; the same key and body within 24 h replay the answer',
    }),
  ),
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Answers found when the gate refused, for the handler to send (a hook that sends would race the next hook). */
const answeredPastGate = new WeakMap<FastifyRequest, IdempotentOutcome>();

/** The request under its Idempotency-Key, or undefined when the client sent none. */
function idempotentRequest(req: FastifyRequest, scope: string): IdempotentRequest | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length === 0 || key.length > 128) {
    throw new DomainError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 128 characters');
  }
  const requestHash = sha256(
    `${req.method} ${req.routeOptions.url}\n${JSON.stringify(req.params)}\n${JSON.stringify(req.body ?? null)}`,
  );
  const credential = accessKeyOf(req);
  return { scope, key, requestHash, callerDigest: credential ? sha256(credential) : undefined };
}

function sendOutcome(reply: FastifyReply, outcome: IdempotentOutcome, replayed: boolean): FastifyReply {
  if (replayed) reply.header('idempotent-replayed', 'true');
  if (outcome.ok) return reply.status(200).send(outcome.value);
  // A replayed refusal is sent as it was first answered, so the route's own type does not apply.
  const { code, message, details } = outcome.error;
  return reply.status(httpStatusOf(code)).send(errorBody(code, message, details));
}

/**
 * Runs the work once per Idempotency-Key (when the client sent one) and replays the stored answer after.
 * The work passes the seal to its transaction, so the answer `view` gives is stored with the work itself.
 */
export async function idempotent<D, V>(
  service: IdempotencyService,
  req: FastifyRequest,
  reply: FastifyReply,
  scope: string,
  view: (done: D) => V,
  work: (seal?: Seal<D>) => Promise<D>,
  opts: RunOptions = {},
): Promise<V> {
  const stored = answeredPastGate.get(req);
  if (stored) return sendOutcome(reply, stored, true) as never;
  const request = idempotentRequest(req, scope);
  if (request === undefined) return view(await work());
  const { outcome, replayed } = await service.run<V>(
    request,
    async (sealView) => {
      // The view is what is stored, however the work stores it.
      const seal: Seal<D> = Object.assign((tx: IdempotencyTx, done: D) => sealView(tx, view(done)), {
        answer: (done: D) => sealView.answer(view(done)),
        keyClaimed: () => sealView.keyClaimed(),
      });
      return view(await work(seal));
    },
    opts,
  );
  return sendOutcome(reply, outcome, replayed) as never;
}

/**
 * The admission gate, with one way past it: a retry that the gate refuses (TOKEN_EXPIRED after paying
 * freed the slot) gets the stored answer to the very same request sent with the very same credential.
 * Without it a client that lost its payment confirmation could never get it. Admitted requests pay
 * nothing for this; every other refusal stands.
 */
export function gateOrStoredAnswer(
  service: IdempotencyService,
  scopeOf: (req: FastifyRequest) => string | undefined,
  gate: PreHandler,
): PreHandler {
  return async (req, reply) => {
    try {
      await gate(req, reply);
    } catch (refusal) {
      const stored = await storedAnswerFor(service, req, scopeOf(req));
      if (!stored) throw refusal;
      answeredPastGate.set(req, stored);
    }
  };
}

async function storedAnswerFor(
  service: IdempotencyService,
  req: FastifyRequest,
  scope: string | undefined,
): Promise<IdempotentOutcome | undefined> {
  if (scope === undefined) return undefined;
  try {
    const request = idempotentRequest(req, scope);
    return request && (await service.storedAnswer(request));
  } catch {
    // A malformed key or an unreachable database: the gate's refusal is the answer.
    return undefined;
  }
}
