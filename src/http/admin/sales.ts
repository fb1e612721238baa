import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Sale, SaleCounters } from '../../domain/sales/model.ts';
import type { RoutePlugin } from '../plugin.ts';
import { AdminSale, AdminSaleWithCounters } from '../sale-bodies.ts';
import { iso, publicSaleView, SaleParams } from '../sales.ts';
import { errorResponses, Id } from '../schemas.ts';
import { operatorOf } from './auth.ts';
import { epochOf, NO_CONTROL_CHARACTERS } from './schemas.ts';

const Rate = Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'Admissions per second' });
const Cap = (description: string) => Type.Integer({ minimum: 1, maximum: 10_000_000, description });
const Overbook = Type.Number({
  minimum: 1,
  maximum: 100,
  description: 'Users admitted at once per seat free or held: the window is ceil((free + held) x overbook)',
});

export const saleView = (s: Sale) => ({
  ...publicSaleView(s),
  drawSeed: s.drawSeed,
  settings: s.settings,
  createdAt: new Date(s.createdAt).toISOString(),
  closedAt: iso(s.closedAt),
});

const withCounters = (s: Sale, counters: SaleCounters) => ({ ...saleView(s), counters });

/** Sales: create, watch, and the live controls (pause, resume, settings, close); every change audited. */
export const adminSaleRoutes: RoutePlugin<'sales' | 'saleRooms'> = async (app, { services }) => {
  const { sales, saleRooms } = services;
  /** After a stored change: every process follows through the store; the log says who did what. */
  const follow = async (req: FastifyRequest, saleId: number, change: string) => {
    const record = await sales.find(saleId);
    await saleRooms.controlChanged(record);
    const settings = { ...sales.settingsOf(record), closed: record.closedAt !== null };
    req.log.info({ saleId, change, operator: operatorOf(req).name, settings }, 'sale control changed');
    return saleView(await saleRooms.sale(saleId));
  };

  app.post(
    '/sales',
    {
      schema: {
        summary: 'Create a sale over schedules; with opensAt, joiners before it are pre-queued and drawn',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200, pattern: NO_CONTROL_CHARACTERS }),
            scheduleIds: Type.Array(Id('Schedule id'), { minItems: 1, maxItems: 1000 }),
            opensAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
            admitPerSecond: Type.Optional(Rate),
            maxActive: Type.Optional(Cap('Most users admitted at once')),
            overbook: Type.Optional(Overbook),
          },
          { additionalProperties: false },
        ),
        response: { 201: AdminSale, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { opensAt, ...rest } = req.body;
      const actor = operatorOf(req);
      const record = await sales.create(
        { ...rest, opensAt: opensAt === undefined || opensAt === null ? null : epochOf(opensAt, 'opensAt') },
        actor,
      );
      await saleRooms.controlChanged(record);
      req.log.info({ saleId: record.id, operator: actor.name }, 'sale created');
      return reply.code(201).send(saleView(await saleRooms.sale(record.id)));
    },
  );

  app.get(
    '/sales',
    {
      schema: {
        summary: 'Every sale with its live status',
        response: { 200: Type.Object({ sales: Type.Array(AdminSale) }), ...errorResponses },
      },
    },
    async () => ({ sales: (await saleRooms.sales()).map(saleView) }),
  );

  app.get(
    '/sales/:saleId',
    {
      schema: {
        summary: 'A sale with its live counters',
        params: SaleParams,
        response: { 200: AdminSaleWithCounters, ...errorResponses },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const [sale, counters] = await Promise.all([
        saleRooms.sale(req.params.saleId),
        saleRooms.counters(req.params.saleId),
      ]);
      return withCounters(sale, counters);
    },
  );

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const)
    app.post(
      `/sales/:saleId/${verb}`,
      {
        schema: {
          summary: paused
            ? 'Pause admission: nobody new is admitted, waiters keep their place'
            : 'Resume admission',
          params: SaleParams,
          response: { 200: AdminSale, ...errorResponses },
        },
      },
      async (req) => {
        await sales.change(req.params.saleId, verb, { paused }, operatorOf(req));
        return follow(req, req.params.saleId, verb);
      },
    );

  app.patch(
    '/sales/:saleId/settings',
    {
      schema: {
        summary: 'Change the admission rate, the cap, the adaptive bounds or the overbook factor',
        params: SaleParams,
        body: Type.Object(
          {
            admitPerSecond: Type.Optional(Rate),
            maxActive: Type.Optional(Cap('Most users admitted at once')),
            minWindow: Type.Optional(Cap('Least active-user window the adaptive admission keeps')),
            maxWindow: Type.Optional(Cap('Largest active-user window')),
            overbook: Type.Optional(Overbook),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: AdminSale, ...errorResponses },
      },
    },
    async (req) => {
      await sales.change(req.params.saleId, 'settings', req.body, operatorOf(req));
      return follow(req, req.params.saleId, 'settings');
    },
  );

  app.post(
    '/sales/:saleId/close',
    {
      schema: {
        summary: 'Close the sale: no more joiners or admissions; waiters see CLOSED',
        params: SaleParams,
        response: { 200: AdminSale, ...errorResponses },
      },
    },
    async (req) => {
      await sales.close(req.params.saleId, operatorOf(req));
      return follow(req, req.params.saleId, 'close');
    },
  );
};
