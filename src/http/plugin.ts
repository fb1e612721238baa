import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppServices } from '../services.ts';

/** A route module: TypeBox-typed, handed the services it names (all of them by default). */
export type RoutePlugin<Needs extends keyof AppServices = keyof AppServices> = FastifyPluginAsyncTypebox<{
  services: Pick<AppServices, Needs>;
}>;

/** Hooks for the whole app (overload guard, metrics), built from plain objects. */
export type AppHooks = FastifyPluginAsync;

/** What fastify-plugin does: the plugin's hooks apply to the whole app, not only its own context. */
export function appWide<T extends object>(plugin: T, name: string): T {
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: name });
  return plugin;
}
