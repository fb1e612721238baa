import { Type } from 'typebox';
import { MAX_CHARGE, MIN_CHARGE } from '../domain/booking/points.ts';
import { DomainError } from '../domain/errors.ts';
import { gateOrStoredAnswer, IdempotencyHeaders, idempotent } from './idempotency.ts';
import type { RoutePlugin } from './plugin.ts';
import { namedUser } from './queue.ts';
import { accessKeySecurity, errorResponses, Id } from './schemas.ts';

const Balance = Type.Object({ userId: Type.Integer(), balance: Type.Integer({ description: 'Points' }) });
const UserParams = Type.Object({ userId: Id('User id') });

export const pointsRoutes: RoutePlugin<'points' | 'idempotency' | 'admissionGate' | 'identity'> = async (
  app,
  { services },
) => {
  const { points, idempotency } = services;
  const guard = services.admissionGate;
  const chargeScope = (userId: number | undefined) => (userId === undefined ? undefined : `charge:${userId}`);
  // Outside the demo a wallet is credited only by the payment provider's signed callback (or an operator).
  const directChargeAllowed = services.identity.mode === 'none';
  const refuseOutsideDemo = async () => {
    if (!directChargeAllowed)
      throw new DomainError(
        'TOP_UP_REQUIRES_PROVIDER',
        'Points are added by the payment provider (POST /api/payments/provider/callback), not by the client',
      );
  };

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
      onRequest: refuseOutsideDemo,
      preHandler: gateOrStoredAnswer(idempotency, (req) => chargeScope(namedUser(req)), guard.userAdmitted),
      schema: {
        tags: ['points'],
        security: accessKeySecurity,
        summary:
          'Add points to the wallet (the demo only: 403 TOP_UP_REQUIRES_PROVIDER with TR_IDENTITY=jwt)',
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
