import { Type } from 'typebox';
import { MAX_PAGE_SIZE } from '../domain/catalog.ts';
import type { RoutePlugin } from './plugin.ts';
import { accessKeySecurity, errorResponses, Id, NullableString } from './schemas.ts';

const Concert = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  artist: Type.String(),
  venue: Type.String(),
});

const Schedule = Type.Object({
  id: Type.Integer(),
  concertId: Type.Integer(),
  startsAt: Type.String({ format: 'date-time', description: 'When the show starts (ISO 8601, UTC)' }),
  seatCount: Type.Integer(),
  availableSeats: Type.Integer({ description: 'Seats neither held nor sold right now' }),
  available: Type.Boolean(),
});

const Seat = Type.Object({
  id: Type.Integer({ description: 'Seat id, unique within the schedule (1..seatCount on the demo)' }),
  seatId: Type.Integer({ description: 'Same as id, under the name the seed client uses' }),
  number: Type.Integer(),
  grade: Type.String({ description: "VIP, R or S on the demo's seats; the section on an entered seat map" }),
  price: Type.Integer({ description: 'Price in points' }),
  section: Type.Optional(Type.String({ description: 'Where the seat is (seat maps entered by operators)' })),
  row: Type.Optional(Type.String()),
  label: Type.Optional(Type.String()),
});

const ConcertParams = Type.Object({ concertId: Id('Concert id') });
const ScheduleParams = Type.Object({ concertId: Id('Concert id'), scheduleId: Id('Schedule id') });

const scheduleView = (s: {
  id: number;
  concertId: number;
  startsAt: number;
  seatCount: number;
  availableSeats: number;
}) => ({
  id: s.id,
  concertId: s.concertId,
  startsAt: new Date(s.startsAt).toISOString(),
  seatCount: s.seatCount,
  availableSeats: s.availableSeats,
  available: s.availableSeats > 0,
});

export const catalogRoutes: RoutePlugin<'catalog' | 'admissionGate'> = async (app, { services }) => {
  const { catalog } = services;
  const guard = services.admissionGate;

  app.get(
    '/api/concerts',
    {
      preHandler: guard.anyAdmitted,
      schema: {
        tags: ['catalog'],
        security: accessKeySecurity,
        summary: 'List concerts, a page at a time',
        querystring: Type.Object({
          cursor: Type.Optional(
            Type.String({ maxLength: 64, description: 'nextCursor of the previous page' }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 })),
        }),
        response: {
          200: Type.Object({
            concerts: Type.Array(Concert),
            nextCursor: NullableString(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => catalog.listConcerts(req.query.cursor, req.query.limit),
  );

  app.get(
    '/api/concerts/:concertId/schedules',
    {
      preHandler: guard.anyAdmitted,
      schema: {
        tags: ['catalog'],
        security: accessKeySecurity,
        summary: "A concert's schedules with their free-seat counts",
        params: ConcertParams,
        response: { 200: Type.Object({ schedules: Type.Array(Schedule) }), ...errorResponses },
      },
    },
    async (req) => ({ schedules: (await catalog.listSchedules(req.params.concertId)).map(scheduleView) }),
  );

  app.get(
    '/api/schedules/:scheduleId',
    {
      preHandler: guard.anyAdmitted,
      schema: {
        tags: ['catalog'],
        security: accessKeySecurity,
        summary: 'One schedule, with the concert it belongs to',
        params: Type.Object({ scheduleId: Id('Schedule id') }),
        response: { 200: Schedule, ...errorResponses },
      },
    },
    async (req) => scheduleView(await catalog.scheduleWithAvailability(req.params.scheduleId)),
  );

  app.get(
    '/api/concerts/:concertId/schedules/:scheduleId/seats/available',
    {
      preHandler: guard.anyAdmitted,
      schema: {
        tags: ['catalog'],
        security: accessKeySecurity,
        summary: 'Seats of a schedule that are free to hold, and which others are held or sold',
        description:
          "Each server process answers from a copy up to a second old. Holds and sales made through the same process show at once; other processes' show within the second, and holding a seat taken meanwhile answers 409 SEAT_ALREADY_RESERVED.",
        params: ScheduleParams,
        response: {
          200: Type.Object({
            seats: Type.Array(Seat, { description: 'The free seats' }),
            held: Type.Array(Type.Integer(), {
              description: 'Ids of seats someone holds now (free again if the hold ends unpaid)',
            }),
            sold: Type.Array(Type.Integer(), { description: 'Ids of seats sold' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { free, held, sold } = await catalog.seatAvailability(
        req.params.concertId,
        req.params.scheduleId,
      );
      return { seats: free.map((s) => ({ ...s, seatId: s.id })), held, sold };
    },
  );
};
