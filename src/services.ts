import type { Database } from './db/database.ts';
import type { CatalogService } from './domain/catalog.ts';
import type { Clock } from './domain/clock.ts';
import type { RoutePlugin } from './http/plugin.ts';

/** A dependency that /health/ready reports on. */
export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
}

/** Everything routes need, built once by main.ts (or by a test) and handed to buildApp. */
export interface AppServices {
  clock: Clock;
  database: Database;
  catalog: CatalogService;
  readiness: DependencyCheck[];
  /** Route plugins contributed by other modules (waiting room, booking, metrics). */
  extraRoutes?: RoutePlugin[];
  // biome-ignore lint/suspicious/noExplicitAny: filled in by later modules
  [extra: string]: any;
}
