import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../domain/errors.ts';
import type { QueueTicket, WaitingRoom } from '../domain/waiting-room.ts';
import { type AdmissionGate, type PreHandler, setCaller } from './guard.ts';
import { identitySecurity, requireIdentity } from './identity.ts';
import type { RoutePlugin } from './plugin.ts';
import { tokenIssueLimiters } from './rate-limit.ts';
import { ErrorResponse, errorResponses, Id, NullableInteger } from './schemas.ts';

const UserParams = Type.Object({ userId: Id('User id') });

const Ticket = Type.Object({
  accessKey: Type.Optional(Type.String({ description: 'Send it back in the Authorization header' })),
  order: Type.Integer({ description: '0 when admitted, otherwise the 1-based place in line' }),
  // An enum, not a union of literals: the serializer would otherwise run a validator per response.
  status: Type.Unsafe<'WAITING' | 'ACTIVE'>({ type: 'string', enum: ['WAITING', 'ACTIVE'] }),
  position: Type.Integer({ description: 'Place in line; 0 when admitted' }),
  etaSeconds: NullableInteger(
    'Estimated wait, from the admission rate actually measured; null while admission is STALLED or ESTIMATING (no honest estimate)',
  ),
  admission: Type.Unsafe<'ADMITTED' | 'MOVING' | 'ESTIMATING' | 'STALLED'>({
    type: 'string',
    enum: ['ADMITTED', 'MOVING', 'ESTIMATING', 'STALLED'],
    description:
      'ADMITTED: the key is active. MOVING: the line advances. ESTIMATING: the line advances, but this place waits on admitted users leaving and how long they stay is still being measured (a first sale with no session assumed, its first seconds); an ETA follows. STALLED: every active slot is taken and nobody was admitted lately; the line moves again as admitted users finish or go idle',
  }),
  pollAfterMs: Type.Integer({ description: 'When to poll next; also sent as Retry-After in seconds' }),
});

/** Reads the access key from `Authorization: <key>` or `Authorization: Bearer <key>`. */
export function accessKeyOf(req: FastifyRequest): string | undefined {
  const raw = req.headers.authorization;
  if (raw === undefined) return undefined;
  const value = raw.trim();
  return value.toLowerCase().startsWith('bearer ') ? value.slice(7).trim() : value;
}

const retryAfterOf = (t: QueueTicket): string => String(Math.max(1, Math.ceil(t.pollAfterMs / 1000)));

export const queueRoutes: RoutePlugin<'waitingRoom' | 'identity' | 'tokenIssueLimits'> = async (
  app,
  { services },
) => {
  const room = services.waitingRoom;
  const limits = tokenIssueLimiters(app, services.tokenIssueLimits);

  app.post(
    '/api/users/:userId/token',
    {
      // Floods are refused per address before any parsing or signature check; per user once the caller is proven.
      onRequest: limits.perAddress,
      preHandler: [requireIdentity(services.identity), ...limits.perUser],
      schema: {
        tags: ['queue'],
        summary: 'Join the waiting room, or get a fresh key keeping your place',
        description:
          services.identity.mode === 'jwt'
            ? "Needs the user's login JWT as `Authorization: Bearer <JWT>` (`sub` = the user id in the path). " +
              'The key returned is bound to that user: later requests carry the key alone. ' +
              'Issuing again keeps the place in line; the previous key keeps working for a grace period.'
            : 'Issuing again keeps the place in line; the previous key keeps working for a grace period.',
        security: identitySecurity(services.identity),
        params: UserParams,
        body: Type.Optional(
          Type.Union([
            Type.Object({ userId: Type.Optional(Id('Must match the path if given')) }),
            Type.Null(),
          ]),
        ),
        response: { 200: Ticket, ...errorResponses, 429: ErrorResponse },
      },
    },
    async (req, reply) => {
      const bodyUserId = req.body?.userId;
      if (bodyUserId !== undefined && bodyUserId !== req.params.userId)
        throw new DomainError('VALIDATION_FAILED', 'body userId does not match the path');
      const ticket = await room.issueToken(req.params.userId);
      return reply.header('retry-after', retryAfterOf(ticket)).send(ticket);
    },
  );

  app.get(
    '/api/users/:userId/token',
    {
      schema: {
        tags: ['queue'],
        summary: 'Place in line, ETA and when to poll next',
        // The key is documented by the security scheme; a headers schema would cost ~25 % of this hot route.
        description: 'Send the access key as `Authorization: <key>` or `Authorization: Bearer <key>`.',
        security: [{ accessKey: [] }],
        params: UserParams,
        response: { 200: Ticket, ...errorResponses },
      },
    },
    async (req, reply) => {
      const ticket = await room.poll(req.params.userId, accessKeyOf(req));
      return reply.header('retry-after', retryAfterOf(ticket)).send(ticket);
    },
  );

  app.delete(
    '/api/users/:userId/token',
    {
      schema: {
        tags: ['queue'],
        summary: 'Leave the waiting room: give up the place in line or free the active slot at once',
        description:
          'With that user’s key (current or within its grace period). Every key of the user stops working; issuing again joins at the back.',
        security: [{ accessKey: [] }],
        params: UserParams,
        response: {
          204: Type.Null({ description: 'Left the line or the active set' }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      await room.leave(req.params.userId, accessKeyOf(req));
      return reply.code(204).send(null);
    },
  );
};

/** A preHandler admitting only holders of an admitted key; with `userIdFrom`, only that user's key. */
export function requireAdmitted(
  room: WaitingRoom,
  userIdFrom?: (req: FastifyRequest) => number | undefined,
): PreHandler {
  return async (req) => {
    const userId = userIdFrom?.(req);
    if (userId === undefined) {
      setCaller(req, await room.authorizeAnyAdmitted(accessKeyOf(req)));
      return;
    }
    await room.authorizeAdmitted(userId, accessKeyOf(req));
    setCaller(req, userId);
  };
}

/** The user a route names: path parameter first, then a body field `userId`. */
export function namedUser(req: FastifyRequest): number | undefined {
  const fromParams = (req.params as { userId?: unknown } | undefined)?.userId;
  const fromBody = (req.body as { userId?: unknown } | undefined)?.userId;
  const id = fromParams ?? fromBody;
  return typeof id === 'number' && Number.isInteger(id) ? id : undefined;
}

/** The gate every booking route sits behind, backed by the waiting room. */
export function admissionGate(room: WaitingRoom): AdmissionGate {
  return {
    anyAdmitted: requireAdmitted(room),
    userAdmitted: requireAdmitted(room, namedUser),
  };
}
