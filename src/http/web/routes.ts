import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isDomainError } from '../../domain/errors.ts';
import type { RoutePlugin } from '../plugin.ts';
import { Id } from '../schemas.ts';
import { ensureWebBuild } from './build.ts';
import { chooseLanguage, isLanguage } from './language.ts';
import {
  adminPage,
  bookPage,
  concertPage,
  homePage,
  mePage,
  notFoundPage,
  type PageContext,
  pageContext,
  type ShowInfo,
  waitPage,
} from './pages.ts';

/** Only this server's own origin, for every page and asset; nothing inline runs. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Page HTML may be cached briefly (the same for everyone in a language); assets forever (their names change). */
const HTML_CACHE = 'public, max-age=5';
const SHOW_CACHE_MS = 30_000;

export interface WebOptions {
  identity: 'none' | 'jwt';
  demoUsers: number;
}

const LangQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 8 })) });

/** The fans' pages at /, the operator console at /admin, and their content-hashed assets at /assets/. */
export const webRoutes: RoutePlugin<'catalog'> = async (app, opts) => {
  const { catalog } = opts.services;
  const { identity, demoUsers } = opts as unknown as WebOptions;
  const build = await ensureWebBuild();

  // Helmet's other headers apply as everywhere; its deny-all policy (for JSON) gives way to this one here.
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    return payload;
  });

  await app.register(fastifyStatic, {
    root: build.assetsDir,
    prefix: '/assets/',
    wildcard: false,
    preCompressed: true,
    immutable: true,
    maxAge: '365d',
    decorateReply: false,
    index: false,
  });

  const context = (req: FastifyRequest, reply: FastifyReply, path: string): PageContext => {
    const query = { ...(req.query as Record<string, string>) };
    const asked = query.lang;
    delete query.lang;
    const lang = chooseLanguage(asked, req.headers.cookie, req.headers['accept-language']);
    // The switch is a plain link; the choice sticks for the next pages through a cookie.
    if (isLanguage(asked))
      reply.header('set-cookie', `tr_lang=${asked}; Path=/; Max-Age=31536000; SameSite=Lax`);
    return pageContext({ lang, path, query, assets: build.urls, identity, demoUsers });
  };

  const shows = new Map<number, { at: number; show: ShowInfo | undefined }>();
  const showOf = async (scheduleId: number | undefined): Promise<ShowInfo | undefined> => {
    if (scheduleId === undefined) return undefined;
    const cached = shows.get(scheduleId);
    if (cached && Date.now() - cached.at < SHOW_CACHE_MS) return cached.show;
    let show: ShowInfo | undefined;
    try {
      const schedule = await catalog.getSchedule(scheduleId);
      show = {
        scheduleId,
        concert: await catalog.getConcert(schedule.concertId),
        startsAt: schedule.startsAt,
      };
    } catch (err) {
      if (!isDomainError(err)) throw err;
    }
    if (shows.size > 10_000) shows.clear();
    shows.set(scheduleId, { at: Date.now(), show });
    return show;
  };

  const ScheduleQuery = Type.Object({
    lang: Type.Optional(Type.String({ maxLength: 8 })),
    schedule: Type.Optional(Id('Schedule id')),
  });
  const page = { hide: true };

  app.get(
    '/',
    {
      schema: {
        ...page,
        querystring: Type.Object({
          lang: Type.Optional(Type.String({ maxLength: 8 })),
          after: Type.Optional(Type.String({ maxLength: 64 })),
        }),
      },
    },
    async (req, reply) => {
      const c = context(req, reply, '/');
      const { concerts, nextCursor } = await catalog.listConcerts(req.query.after);
      return sendHtml(req, reply, homePage(c, concerts, nextCursor));
    },
  );

  app.get(
    '/concerts/:concertId',
    { schema: { ...page, params: Type.Object({ concertId: Id() }), querystring: LangQuery } },
    async (req, reply) => {
      const c = context(req, reply, `/concerts/${req.params.concertId}`);
      try {
        const concert = await catalog.getConcert(req.params.concertId);
        const schedules = await catalog.listSchedules(concert.id);
        return sendHtml(req, reply, concertPage(c, concert, schedules));
      } catch (err) {
        if (!isDomainError(err) || err.code !== 'CONCERT_NOT_FOUND') throw err;
        return sendHtml(req, reply.status(404), notFoundPage(c));
      }
    },
  );

  app.get('/wait', { schema: { ...page, querystring: ScheduleQuery } }, async (req, reply) =>
    sendHtml(req, reply, waitPage(context(req, reply, '/wait'), await showOf(req.query.schedule))),
  );
  app.get('/book', { schema: { ...page, querystring: ScheduleQuery } }, async (req, reply) =>
    sendHtml(req, reply, bookPage(context(req, reply, '/book'), await showOf(req.query.schedule))),
  );
  app.get('/me', { schema: { ...page, querystring: LangQuery } }, async (req, reply) =>
    sendHtml(req, reply, mePage(context(req, reply, '/me'))),
  );
  app.get('/admin', { schema: { ...page, querystring: LangQuery } }, async (req, reply) =>
    sendHtml(req, reply.header('cache-control', 'no-store'), adminPage(context(req, reply, '/admin'))),
  );
};

/** HTML compressed for the browser that accepts it: a few kilobytes, once per request. */
function sendHtml(req: FastifyRequest, reply: FastifyReply, html: string) {
  const accepts = String(req.headers['accept-encoding'] ?? '');
  reply
    .type('text/html; charset=utf-8')
    .header('vary', 'accept-encoding, accept-language, cookie')
    .header('x-robots-tag', 'noindex');
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', HTML_CACHE);
  if (/\bbr\b/.test(accepts))
    return reply
      .header('content-encoding', 'br')
      .send(brotliCompressSync(html, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }));
  if (/\bgzip\b/.test(accepts)) return reply.header('content-encoding', 'gzip').send(gzipSync(html));
  return reply.send(html);
}
