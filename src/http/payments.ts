import { Type } from 'typebox';
import type { PaymentReceipt } from '../domain/booking/payments.ts';
import { gateOrStoredAnswer, IdempotencyHeaders, idempotent } from './idempotency.ts';
import type { RoutePlugin } from './plugin.ts';
import { namedUser } from './queue.ts';
import { accessKeySecurity, errorResponses, Id } from './schemas.ts';

export const paymentRoutes: RoutePlugin<'payments' | 'idempotency' | 'admissionGate'> = async (
  app,
  { services },
) => {
  const { payments, idempotency } = services;
  const guard = services.admissionGate;
  const payScope = (userId: number | undefined) => (userId === undefined ? undefined : `pay:${userId}`);

  app.post(
    '/api/payments',
    {
      // Paying frees the caller's admission: a retry that lost its receipt gets it even so.
      preHandler: gateOrStoredAnswer(idempotency, (req) => payScope(namedUser(req)), guard.userAdmitted),
      schema: {
        tags: ['payments'],
        security: accessKeySecurity,
        summary: 'Pay a held reservation with points; confirms the seat',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            userId: Id('User id'),
            reservationId: Type.String({ minLength: 1, maxLength: 36, pattern: '^[0-9a-fA-F-]+$' }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            paymentId: Type.String(),
            reservationId: Type.String(),
            userId: Type.Integer(),
            amount: Type.Integer(),
            balance: Type.Integer({ description: 'Points left after paying' }),
            status: Type.Literal('CONFIRMED'),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { userId, reservationId } = req.body;
      const receiptView = ({ payment, balance }: PaymentReceipt) => ({
        paymentId: payment.id,
        reservationId,
        userId,
        amount: payment.amount,
        balance,
        status: 'CONFIRMED' as const,
      });
      return idempotent(idempotency, req, reply, `pay:${userId}`, receiptView, (seal) =>
        payments.pay(userId, reservationId, seal),
      );
    },
  );
};
