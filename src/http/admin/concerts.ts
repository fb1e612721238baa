import { Type } from 'typebox';
import { MAX_PAGE_SIZE } from '../../domain/catalog.ts';
import type { RoutePlugin } from '../plugin.ts';
import { errorResponses, MAX_ID } from '../schemas.ts';
import { operatorOf } from './auth.ts';
import {
  Concert,
  ConcertChanges,
  ConcertInput,
  ConcertParams,
  concertView,
  epochOf,
  Schedule,
  ScheduleInput,
  scheduleView,
} from './schemas.ts';

export const adminConcertRoutes: RoutePlugin<'catalogAdmin'> = async (app, { services }) => {
  const { catalogAdmin } = services;

  app.get(
    '/concerts',
    {
      schema: {
        summary: 'Concerts, published or not, in id order',
        querystring: Type.Object({
          after: Type.Optional(
            Type.Integer({ minimum: 0, maximum: MAX_ID, description: 'nextAfter of the previous page' }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 })),
        }),
        response: {
          200: Type.Object({
            concerts: Type.Array(Concert),
            nextAfter: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 20;
      const rows = await catalogAdmin.listConcerts(req.query.after ?? 0, limit + 1);
      const concerts = rows.slice(0, limit);
      return {
        concerts: concerts.map(concertView),
        nextAfter: rows.length > limit ? concerts[concerts.length - 1].id : null,
      };
    },
  );

  app.post(
    '/concerts',
    {
      schema: {
        summary: 'Create a concert (unpublished until published)',
        body: ConcertInput,
        response: { 201: Concert, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(concertView(await catalogAdmin.createConcert(req.body, operatorOf(req)))),
  );

  app.get(
    '/concerts/:concertId',
    {
      schema: {
        summary: 'A concert with all its schedules',
        params: ConcertParams,
        response: {
          200: Type.Object({ concert: Concert, schedules: Type.Array(Schedule) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { concert, schedules } = await catalogAdmin.concert(req.params.concertId);
      return { concert: concertView(concert), schedules: schedules.map(scheduleView) };
    },
  );

  app.patch(
    '/concerts/:concertId',
    {
      schema: {
        summary: "Change a concert's title, artist or venue",
        params: ConcertParams,
        body: ConcertChanges,
        response: { 200: Concert, ...errorResponses },
      },
    },
    async (req) =>
      concertView(await catalogAdmin.editConcert(req.params.concertId, req.body, operatorOf(req))),
  );

  for (const [verb, published] of [
    ['publish', true],
    ['unpublish', false],
  ] as const)
    app.post(
      `/concerts/:concertId/${verb}`,
      {
        schema: {
          summary: published
            ? 'Publish a concert: fans see it and its published schedules'
            : 'Unpublish a concert: fans no longer see it or any of its schedules',
          params: ConcertParams,
          response: { 200: Concert, ...errorResponses },
        },
      },
      async (req) =>
        concertView(await catalogAdmin.publishConcert(req.params.concertId, published, operatorOf(req))),
    );

  app.post(
    '/concerts/:concertId/schedules',
    {
      schema: {
        summary: 'Add a schedule (unpublished, with an empty seat map to import)',
        params: ConcertParams,
        body: ScheduleInput,
        response: { 201: Schedule, ...errorResponses },
      },
    },
    async (req, reply) => {
      const input = { startsAt: epochOf(req.body.startsAt, 'startsAt'), venue: req.body.venue };
      const schedule = await catalogAdmin.createSchedule(req.params.concertId, input, operatorOf(req));
      return reply.status(201).send(scheduleView(schedule));
    },
  );
};
