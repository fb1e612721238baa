import { Type } from 'typebox';
import { CSV_HEADER, SEAT_MAP_LIMITS } from '../../domain/admin/seat-map.ts';
import type { RoutePlugin } from '../plugin.ts';
import { errorResponses } from '../schemas.ts';
import { operatorOf } from './auth.ts';
import {
  NO_CONTROL_CHARACTERS,
  Price,
  Schedule,
  ScheduleParams,
  Seat,
  SeatMapChange,
  SeatMapDocument,
  SeatParams,
  scheduleView,
  seatView,
} from './schemas.ts';

/** Enough for the largest seat map allowed (about 40 bytes a seat). */
const IMPORT_BODY_LIMIT = SEAT_MAP_LIMITS.maxSeats * 64;

const importNote =
  'All or nothing: a problem anywhere is a 422 SEAT_MAP_INVALID listing each (CSV: line, JSON: path) and nothing ' +
  'changes. Replaces the seat map: a seat at the same section/row/label keeps its id, new seats get new ids, seats ' +
  'not listed are removed. A held or sold seat that would be removed or repriced refuses the whole import ' +
  '(409 SEAT_IN_USE).';

export const seatMapRoutes: RoutePlugin<'catalogAdmin'> = async (app, { services }) => {
  const { catalogAdmin } = services;

  // CSV arrives as text; only these routes' context accepts it.
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.get(
    '/schedules/:scheduleId/seats',
    {
      schema: {
        summary: 'Every seat of a stored seat map, with whether it is free, held or sold',
        params: ScheduleParams,
        response: {
          200: Type.Object({ schedule: Schedule, seats: Type.Array(Seat) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { schedule, seats } = await catalogAdmin.seats(req.params.scheduleId);
      return { schedule: scheduleView(schedule), seats: seats.map(seatView) };
    },
  );

  app.put(
    '/schedules/:scheduleId/seat-map',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        summary: 'Import a seat map from JSON',
        description: importNote,
        params: ScheduleParams,
        body: SeatMapDocument,
        response: { 200: SeatMapChange, ...errorResponses },
      },
    },
    async (req) => catalogAdmin.importSeatMapDocument(req.params.scheduleId, req.body, operatorOf(req)),
  );

  app.put(
    '/schedules/:scheduleId/seat-map/csv',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        summary: 'Import a seat map from CSV (Content-Type: text/csv)',
        description:
          `UTF-8; the first line is exactly \`${CSV_HEADER}\`, then one seat per line; fields may be quoted ` +
          '("A, left", "" for a quote) but not span lines; price is an integer number of points; no blank lines ' +
          `but a final line break; at most ${SEAT_MAP_LIMITS.maxSeats} seats. Seats get ids in line order. ` +
          importNote,
        params: ScheduleParams,
        consumes: ['text/csv'],
        body: Type.String({ description: `CSV with the header ${CSV_HEADER}` }),
        response: { 200: SeatMapChange, ...errorResponses },
      },
    },
    async (req) => catalogAdmin.importSeatMapCsv(req.params.scheduleId, req.body, operatorOf(req)),
  );

  app.patch(
    '/schedules/:scheduleId/seats/:seatId',
    {
      schema: {
        summary: 'Reprice one seat (409 SEAT_IN_USE while it is held or sold)',
        params: SeatParams,
        body: Type.Object({ price: Price }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            seatId: Type.Integer(),
            section: Type.String(),
            row: Type.String(),
            label: Type.String(),
            price: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { scheduleId, seatId } = req.params;
      const seat = await catalogAdmin.repriceSeat(scheduleId, seatId, req.body.price, operatorOf(req));
      return { seatId: seat.id, section: seat.section, row: seat.row, label: seat.label, price: seat.price };
    },
  );

  app.delete(
    '/schedules/:scheduleId/seats/:seatId',
    {
      schema: {
        summary: 'Remove one seat (409 SEAT_IN_USE while it is held or sold)',
        params: SeatParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await catalogAdmin.removeSeat(req.params.scheduleId, req.params.seatId, operatorOf(req));
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/schedules/:scheduleId/sections/:section/price',
    {
      schema: {
        summary:
          'Set the price of every seat of a section (all or none: 409 SEAT_IN_USE if one is held or sold)',
        params: Type.Object({
          scheduleId: ScheduleParams.properties.scheduleId,
          section: Type.String({
            minLength: 1,
            maxLength: SEAT_MAP_LIMITS.section,
            pattern: NO_CONTROL_CHARACTERS,
          }),
        }),
        body: Type.Object({ price: Price }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            section: Type.String(),
            price: Type.Integer(),
            seats: Type.Integer(),
            repriced: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) =>
      catalogAdmin.repriceSection(req.params.scheduleId, req.params.section, req.body.price, operatorOf(req)),
  );
};
