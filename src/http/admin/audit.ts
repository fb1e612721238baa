import { Type } from 'typebox';
import { MAX_AUDIT_PAGE } from '../../domain/admin/audit.ts';
import type { RoutePlugin } from '../plugin.ts';
import { errorResponses } from '../schemas.ts';
import { AuditEntryView, auditView } from './schemas.ts';

export const auditRoutes: RoutePlugin<'auditLog'> = async (app, { services }) => {
  app.get(
    '/audit',
    {
      schema: {
        summary: 'The audit log, newest first, a page at a time',
        querystring: Type.Object({
          entity: Type.Optional(
            Type.String({
              maxLength: 100,
              description: 'A type (concert, schedule, seat, seat-map, operator-key) or type:id (concert:12)',
            }),
          ),
          before: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: Number.MAX_SAFE_INTEGER,
              description: 'nextBefore of the previous page',
            }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 50 })),
        }),
        response: {
          200: Type.Object({
            entries: Type.Array(AuditEntryView),
            nextBefore: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const page = await services.auditLog.page({
        entity: req.query.entity,
        before: req.query.before,
        limit: req.query.limit ?? 50,
      });
      return { entries: page.entries.map(auditView), nextBefore: page.nextBefore };
    },
  );
};
