import { Type } from 'typebox';
import type { RoutePlugin } from '../plugin.ts';
import { errorResponses } from '../schemas.ts';
import { operatorOf } from './auth.ts';
import { keyView, OperatorKeyView } from './schemas.ts';

export const operatorKeyRoutes: RoutePlugin<'operatorKeys'> = async (app, { services }) => {
  const { operatorKeys } = services;

  app.get(
    '/keys',
    {
      schema: {
        summary: 'Operator keys, revoked ones included (never their secrets)',
        response: { 200: Type.Object({ keys: Type.Array(OperatorKeyView) }), ...errorResponses },
      },
    },
    async () => ({ keys: (await operatorKeys.list()).map(keyView) }),
  );

  app.post(
    '/keys',
    {
      schema: {
        summary: 'Create an operator key; its secret is in this answer only',
        body: Type.Object(
          {
            name: Type.String({
              minLength: 1,
              maxLength: 100,
              pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]*$',
              description: 'Unique, e.g. who holds it: letters, digits, _ . @ -',
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            key: OperatorKeyView,
            secret: Type.String({ description: 'Send as Authorization: Bearer <secret>; shown once' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { key, secret } = await operatorKeys.create(req.body.name, operatorOf(req));
      reply.header('cache-control', 'no-store');
      return reply.status(201).send({ key: keyView(key), secret });
    },
  );

  app.post(
    '/keys/:keyId/revoke',
    {
      schema: {
        summary: 'Revoke an operator key; requests with it get 403 OPERATOR_KEY_REVOKED from now on',
        params: Type.Object({
          keyId: Type.String({ minLength: 1, maxLength: 36, pattern: '^[0-9a-fA-F-]+$' }),
        }),
        response: { 200: OperatorKeyView, ...errorResponses },
      },
    },
    async (req) => keyView(await operatorKeys.revoke({ id: req.params.keyId }, operatorOf(req))),
  );
};
