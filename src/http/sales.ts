import { Type } from 'typebox';
import { DomainError } from '../domain/errors.ts';
import type { Sale, SaleDraw } from '../domain/sales/model.ts';
import type { SaleTicket } from '../domain/sales/sale-rooms.ts';
import { identitySecurity, requireIdentity } from './identity.ts';
import type { RoutePlugin } from './plugin.ts';
import { PublishedDraws } from './published-draws.ts';
import { accessKeyOf } from './queue.ts';
import { tokenIssueLimiters } from './rate-limit.ts';
import { PublicSale } from './sale-bodies.ts';
import { ErrorResponse, errorResponses, Id, NullableInteger } from './schemas.ts';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const SaleParams = Type.Object({ saleId: Id('Sale id') });
const SaleUserParams = Type.Object({ saleId: Id('Sale id'), userId: Id('User id') });

export const publicSaleView = (s: Sale) => ({
  saleId: s.id,
  name: s.name,
  allSchedules: s.allSchedules,
  scheduleIds: s.scheduleIds,
  opensAt: iso(s.opensAt),
  status: s.status,
  drawCommitment: s.drawCommitment,
});

const SaleTicketBody = Type.Object({
  accessKey: Type.Optional(
    Type.String({
      description: 'Send it back in the Authorization header; it names the sale (`<saleId>.<key>`)',
    }),
  ),
  order: Type.Integer({ description: '0 only when admitted (ACTIVE); otherwise the place, at least 1' }),
  status: Type.Unsafe<SaleTicket['status']>({
    type: 'string',
    enum: ['PREQUEUE', 'WAITING', 'ACTIVE', 'SOLD_OUT', 'CLOSED'],
  }),
  position: Type.Integer({
    description:
      'Place in line; 0 when admitted; while PREQUEUE the number pre-queued so far (an upper bound)',
  }),
  etaSeconds: NullableInteger(
    'PREQUEUE: seconds to the opening; null while PAUSED, ESTIMATING, STALLED, SOLD_OUT or CLOSED, and while beyondSeats',
  ),
  admission: Type.Unsafe<SaleTicket['admission']>({
    type: 'string',
    enum: ['ADMITTED', 'MOVING', 'ESTIMATING', 'STALLED', 'PAUSED', 'PREQUEUE', 'SOLD_OUT', 'CLOSED'],
  }),
  pollAfterMs: Type.Integer({ description: 'When to poll next; also sent as Retry-After in seconds' }),
  opensAt: Type.Optional(Type.String({ format: 'date-time', description: 'While PREQUEUE: the opening' })),
  beyondSeats: Type.Optional(
    Type.Boolean({
      description:
        'While WAITING in a sale: true when fewer seats are left than fans ahead (in the room without a seat, and in line); etaSeconds is then null: the sale will likely sell out first, unless fans ahead leave without a seat',
    }),
  ),
});

const ticketView = ({ opensAt, ...t }: SaleTicket) =>
  opensAt === undefined ? t : { ...t, opensAt: new Date(opensAt).toISOString() };

const retryAfterOf = (t: SaleTicket): string => String(Math.max(1, Math.ceil(t.pollAfterMs / 1000)));

const Draw = Type.Object({
  saleId: Type.Integer(),
  commitment: Type.String({ description: 'sha256 (hex) of the seed, published at creation' }),
  seed: Type.Union([Type.String(), Type.Null()], { description: 'Revealed once the draw was applied' }),
  entrants: Type.Union([Type.Array(Type.Integer()), Type.Null()], {
    description: 'User ids pre-queued at the opening, ascending',
  }),
  order: Type.Union([Type.Array(Type.Integer()), Type.Null()], {
    description: 'The drawn order, first first',
  }),
});

/** The fans' side of sales: what is on sale, joining a sale's line, and the published draw. */
export const saleRoutes: RoutePlugin<'saleRooms' | 'identity' | 'tokenIssueLimits'> = async (
  app,
  { services },
) => {
  const rooms = services.saleRooms;
  const limits = tokenIssueLimiters(app, services.tokenIssueLimits);
  const draws = new PublishedDraws((saleId) => rooms.draw(saleId));

  app.get(
    '/api/sales',
    {
      schema: {
        tags: ['sales'],
        summary: 'Sales, with their schedules, opening and draw commitment',
        response: { 200: Type.Object({ sales: Type.Array(PublicSale) }), ...errorResponses },
      },
    },
    async () => ({ sales: (await rooms.sales()).map(publicSaleView) }),
  );

  app.get(
    '/api/sales/:saleId',
    {
      schema: {
        tags: ['sales'],
        summary: 'One sale',
        params: SaleParams,
        response: { 200: PublicSale, ...errorResponses },
      },
    },
    async (req) => publicSaleView(await rooms.sale(req.params.saleId)),
  );

  app.get(
    '/api/sales/:saleId/draw',
    {
      schema: {
        tags: ['sales'],
        summary: 'The published draw: check it with `ticketrush verify-draw <this url>`',
        description:
          'Before the opening only the commitment is known; once drawn, the seed, the entrants and the drawn order.',
        params: SaleParams,
        response: { 200: Draw, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { body, final } = await draws.json(req.params.saleId);
      // A recorded draw is immutable: caches may keep it; before that it changes at the opening.
      reply.header('cache-control', final ? 'public, max-age=3600, immutable' : 'no-store');
      // Already serialized: Fastify sends a JSON string as is, past the schema's serializer.
      reply.type('application/json; charset=utf-8');
      return reply.send(body as unknown as SaleDraw);
    },
  );

  app.post(
    '/api/sales/:saleId/users/:userId/token',
    {
      onRequest: limits.perAddress,
      preHandler: [requireIdentity(services.identity), ...limits.perUser],
      schema: {
        tags: ['sales'],
        summary:
          "Join a sale's line (its pre-queue before the opening), or get a fresh key keeping your place",
        description:
          'A closed or sold-out sale answers 409 SALE_CLOSED / SALE_SOLD_OUT. The key returned names the sale.',
        security: identitySecurity(services.identity),
        params: SaleUserParams,
        body: Type.Optional(
          Type.Union([
            Type.Object({ userId: Type.Optional(Id('Must match the path if given')) }),
            Type.Null(),
          ]),
        ),
        response: { 200: SaleTicketBody, ...errorResponses, 429: ErrorResponse },
      },
    },
    async (req, reply) => {
      const bodyUserId = req.body?.userId;
      if (bodyUserId !== undefined && bodyUserId !== req.params.userId)
        throw new DomainError('VALIDATION_FAILED', 'body userId does not match the path');
      const ticket = await rooms.issue(req.params.saleId, req.params.userId);
      return reply.header('retry-after', retryAfterOf(ticket)).send(ticketView(ticket));
    },
  );

  app.get(
    '/api/sales/:saleId/users/:userId/token',
    {
      schema: {
        tags: ['sales'],
        summary: "Place in a sale's line, its state, ETA and when to poll next",
        description: 'Send the access key as `Authorization: <key>` or `Authorization: Bearer <key>`.',
        security: [{ accessKey: [] }],
        params: SaleUserParams,
        response: { 200: SaleTicketBody, ...errorResponses },
      },
    },
    async (req, reply) => {
      const ticket = await rooms.poll(req.params.saleId, req.params.userId, accessKeyOf(req));
      return reply.header('retry-after', retryAfterOf(ticket)).send(ticketView(ticket));
    },
  );

  app.delete(
    '/api/sales/:saleId/users/:userId/token',
    {
      schema: {
        tags: ['sales'],
        summary: "Leave a sale's line: give up the place or free the active slot at once",
        security: [{ accessKey: [] }],
        params: SaleUserParams,
        response: { 204: Type.Null({ description: 'Left' }), ...errorResponses },
      },
    },
    async (req, reply) => {
      await rooms.leave(req.params.saleId, req.params.userId, accessKeyOf(req));
      return reply.code(204).send(null);
    },
  );
};
