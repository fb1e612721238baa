import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { MAX_CHARGE, MIN_CHARGE } from '../domain/booking/points.ts';
import { SIGNATURE_HEADER } from '../domain/booking/provider-signature.ts';
import type { ProviderTopUps } from '../domain/booking/top-ups.ts';
import type { RoutePlugin } from './plugin.ts';
import { errorResponses, Id } from './schemas.ts';

/** OpenAPI scheme of the payment provider's callback signature (TR_PAYMENT_PROVIDER_SECRET). */
export const providerSignatureScheme = {
  type: 'apiKey',
  in: 'header',
  name: SIGNATURE_HEADER,
  description: '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the shared secret>`',
} as const;

const TopUpSucceeded = Type.Object(
  {
    eventId: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z0-9_.:-]+$',
      description: "The provider's unique event id; the same id is credited once",
    }),
    type: Type.Literal('top_up.succeeded'),
    userId: Id('The ticketrush user whose wallet is credited'),
    amount: Type.Integer({ minimum: MIN_CHARGE, maximum: MAX_CHARGE, description: 'Points' }),
  },
  { additionalProperties: false },
);

/** The bytes the provider signed, kept beside the parsed body for the signature check. */
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/**
 * POST /api/payments/provider/callback: the one door money takes outside the demo. Registered in a context of
 * its own, so only this route keeps its raw body.
 */
export const providerCallbackRoutes: RoutePlugin<'providerTopUps'> = async (app, { services }) => {
  const topUps = services.providerTopUps as ProviderTopUps;
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    rawBodies.set(req, body as Buffer);
    parseJson(req, (body as Buffer).toString('utf8'), done);
  });
  // Before the schema: an unsigned request learns nothing about what a valid body looks like.
  app.addHook('preValidation', async (req) => {
    topUps.verify(req.headers[SIGNATURE_HEADER] as string | undefined, rawBodies.get(req) ?? Buffer.alloc(0));
  });

  app.post(
    '/api/payments/provider/callback',
    {
      schema: {
        tags: ['payments'],
        security: [{ providerSignature: [] }],
        summary: 'The payment provider confirms a top-up (signed callback; TR_PAYMENT_PROVIDER_SECRET)',
        body: TopUpSucceeded,
        response: {
          200: Type.Object({
            eventId: Type.String(),
            userId: Type.Integer(),
            amount: Type.Integer(),
            status: Type.Union([Type.Literal('CREDITED'), Type.Literal('ALREADY_CREDITED')]),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { eventId, userId, amount } = req.body;
      const status = await topUps.confirm({ eventId, userId, amount });
      return { eventId, userId, amount, status };
    },
  );
};
