import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppServices } from '../services.ts';

/** Every route module is one of these: TypeBox-typed, handed the app's services. */
export type RoutePlugin = FastifyPluginAsyncTypebox<{ services: AppServices }>;
