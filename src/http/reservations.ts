import { Type } from 'typebox';
import type { Reservation } from '../domain/booking/model.ts';
import { callerOf } from './guard.ts';
import { gateOrStoredAnswer, IdempotencyHeaders, idempotent } from './idempotency.ts';
import type { RoutePlugin } from './plugin.ts';
import { namedUser } from './queue.ts';
import { accessKeySecurity, errorResponses, Id } from './schemas.ts';

export const ReservationView = Type.Object({
  reservationId: Type.String(),
  userId: Type.Integer(),
  concertScheduleId: Type.Integer(),
  seatId: Type.Integer(),
  // An enum, not a union of literals: the serializer would otherwise run a validator per response.
  status: Type.Unsafe<'HELD' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED'>({
    type: 'string',
    enum: ['HELD', 'CONFIRMED', 'RELEASED', 'EXPIRED'],
  }),
  price: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time', description: 'When an unpaid hold lapses' }),
});

export const reservationView = (r: Reservation) => ({
  reservationId: r.id,
  userId: r.userId,
  concertScheduleId: r.scheduleId,
  seatId: r.seatId,
  status: r.status,
  price: r.price,
  createdAt: new Date(r.createdAt).toISOString(),
  expiresAt: new Date(r.expiresAt).toISOString(),
});

const ReservationParams = Type.Object({
  reservationId: Type.String({ minLength: 1, maxLength: 36, pattern: '^[0-9a-fA-F-]+$' }),
});

export const reservationRoutes: RoutePlugin<'reservations' | 'idempotency' | 'admissionGate'> = async (
  app,
  { services },
) => {
  const { reservations, idempotency } = services;
  const guard = services.admissionGate;
  const holdScope = (userId: number | undefined) => (userId === undefined ? undefined : `hold:${userId}`);

  app.post(
    '/api/reservations',
    {
      preHandler: gateOrStoredAnswer(idempotency, (req) => holdScope(namedUser(req)), guard.userAdmitted),
      schema: {
        tags: ['reservations'],
        security: accessKeySecurity,
        summary: 'Hold a seat; the hold lapses after TR_HOLD_TTL_SECONDS unless paid',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            userId: Id('User id'),
            concertScheduleId: Id('Schedule id'),
            seatId: Id('Seat id (1..seatCount)'),
          },
          { additionalProperties: false },
        ),
        response: { 200: ReservationView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { userId, concertScheduleId, seatId } = req.body;
      // A hold claims its key in its own round trip: one trip for a fresh key (idempotency.ts, claimInWork).
      return idempotent(
        idempotency,
        req,
        reply,
        `hold:${userId}`,
        reservationView,
        (seal) => reservations.hold({ userId, scheduleId: concertScheduleId, seatId }, seal),
        { claimInWork: true },
      );
    },
  );

  app.get(
    '/api/reservations/:reservationId',
    {
      preHandler: guard.anyAdmitted,
      schema: {
        tags: ['reservations'],
        security: accessKeySecurity,
        summary: "One of the caller's reservations",
        params: ReservationParams,
        response: { 200: ReservationView, ...errorResponses },
      },
    },
    async (req) => reservationView(await reservations.get(req.params.reservationId, callerOf(req))),
  );

  app.delete(
    '/api/reservations/:reservationId',
    {
      preHandler: guard.anyAdmitted,
      schema: {
        tags: ['reservations'],
        security: accessKeySecurity,
        summary: 'Release a hold early; the seat is free at once',
        params: ReservationParams,
        response: { 200: ReservationView, ...errorResponses },
      },
    },
    async (req) => reservationView(await reservations.release(req.params.reservationId, callerOf(req))),
  );

  app.get(
    '/api/users/:userId/reservations',
    {
      preHandler: guard.userAdmitted,
      schema: {
        tags: ['reservations'],
        security: accessKeySecurity,
        summary: "A user's reservations, newest first",
        params: Type.Object({ userId: Id('User id') }),
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
        }),
        response: { 200: Type.Object({ reservations: Type.Array(ReservationView) }), ...errorResponses },
      },
    },
    async (req) => ({
      reservations: (await reservations.listForUser(req.params.userId, req.query.limit)).map(reservationView),
    }),
  );
};
