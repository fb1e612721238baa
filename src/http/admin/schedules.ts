import type { RoutePlugin } from '../plugin.ts';
import { errorResponses } from '../schemas.ts';
import { operatorOf } from './auth.ts';
import { epochOf, Schedule, ScheduleChanges, ScheduleParams, scheduleView } from './schemas.ts';

export const adminScheduleRoutes: RoutePlugin<'catalogAdmin'> = async (app, { services }) => {
  const { catalogAdmin } = services;

  app.get(
    '/schedules/:scheduleId',
    {
      schema: {
        summary: 'A schedule, published or not',
        params: ScheduleParams,
        response: { 200: Schedule, ...errorResponses },
      },
    },
    async (req) => scheduleView(await catalogAdmin.schedule(req.params.scheduleId)),
  );

  app.patch(
    '/schedules/:scheduleId',
    {
      schema: {
        summary: "Change a schedule's start time or venue (null: the concert's venue)",
        params: ScheduleParams,
        body: ScheduleChanges,
        response: { 200: Schedule, ...errorResponses },
      },
    },
    async (req) => {
      const { startsAt, venue } = req.body;
      const changes = {
        ...(startsAt === undefined ? {} : { startsAt: epochOf(startsAt, 'startsAt') }),
        ...(venue === undefined ? {} : { venue }),
      };
      return scheduleView(await catalogAdmin.editSchedule(req.params.scheduleId, changes, operatorOf(req)));
    },
  );

  for (const [verb, published] of [
    ['publish', true],
    ['unpublish', false],
  ] as const)
    app.post(
      `/schedules/:scheduleId/${verb}`,
      {
        schema: {
          summary: published
            ? 'Publish a schedule: fans see it and can hold its seats (when its concert is published)'
            : 'Unpublish a schedule: fans no longer see it or hold its seats; existing holds stay',
          params: ScheduleParams,
          response: { 200: Schedule, ...errorResponses },
        },
      },
      async (req) =>
        scheduleView(await catalogAdmin.publishSchedule(req.params.scheduleId, published, operatorOf(req))),
    );
};
