import { Type } from 'typebox';
import { MAX_CHARGE, MIN_CHARGE } from '../domain/booking/points.ts';
import { gateOrStoredAnswer, IdempotencyHeaders, idempotent } from './idempotency.ts';
import type { RoutePlugin } from './plugin.ts';
import { namedUser } from './queue.ts';
import { accessKeySecurity, errorResponses, Id } from './schemas.ts';

const Balance = Type.Object({ userId: Type.Integer(), balance: Type.Integer({ description: 'Points' }) });
const UserParams = Type.Object({ userId: Id('User id') });

export const pointsRoutes: RoutePlugin<'points' | 'idempotency' | 'admissionGate'> = async (
  app,
  { services },
) => {
  const { points, idempotency } = services;
  const guard = services.admissionGate;
  const chargeScope = (userId: number | undefined) => (userId === undefined ? undefined : `charge:${userId}`);

  app.get(
    '/api/users/:userId/points',
    {
      preHandler: guard.userAdmitted,
      schema: {
        tags: ['points'],
        security: accessKeySecurity,
        summary: "The user's points balance",
        params: UserParams,
        response: { 200: Balance, ...errorResponses },
      },
    },
    async (req) => ({ userId: req.params.userId, balance: await points.balance(req.params.userId) }),
  );

  app.post(
    '/api/users/:userId/points/charge',
    {
      preHandler: gateOrStoredAnswer(idempotency, (req) => chargeScope(namedUser(req)), guard.userAdmitted),
      schema: {
        tags: ['points'],
        security: accessKeySecurity,
        summary: 'Add points to the wallet',
        params: UserParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            amount: Type.Integer({ minimum: MIN_CHARGE, maximum: MAX_CHARGE }),
            userId: Type.Optional(Id('Must match the path when given')),
          },
          { additionalProperties: false },
        ),
        response: { 200: Balance, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { userId } = req.params;
      if (req.body.userId !== undefined && req.body.userId !== userId) {
        return reply
          .status(400)
          .send({ error: { code: 'VALIDATION_FAILED', message: 'body userId differs from the path' } });
      }
      return idempotent(
        idempotency,
        req,
        reply,
        `charge:${userId}`,
        (balance: number) => ({ userId, balance }),
        (seal) => points.charge(userId, req.body.amount, seal),
      );
    },
  );
};
