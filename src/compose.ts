import type { Config } from './config.ts';
import { bookingRepository } from './db/booking-repository.ts';
import { catalogRepository } from './db/catalog-repository.ts';
import { createDatabase } from './db/database.ts';
import { idempotencyRepository } from './db/idempotency-repository.ts';
import { migrateToLatest } from './db/migrate.ts';
import { progressPrinter, seedDemoData } from './db/seed.ts';
import { PaymentService } from './domain/booking/payments.ts';
import { PointsService } from './domain/booking/points.ts';
import { ReservationService } from './domain/booking/reservations.ts';
import { CatalogService } from './domain/catalog.ts';
import { type Clock, systemClock } from './domain/clock.ts';
import { IdempotencyService } from './domain/idempotency.ts';
import type { AppServices } from './services.ts';

interface BookingHooks {
  afterPaid: Array<(userId: number) => Promise<void> | void>;
}

export interface Composition {
  services: AppServices;
  /** Starts background work (admission ticker, outbox relay, sweepers). */
  start(): void;
  /** Stops background work and closes every pool. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  clock?: Clock;
  /** Migrate and seed when the database is empty (serve on the embedded default). */
  prepareDatabase?: boolean;
  log?: (line: string) => void;
}

/** Wires real dependencies from the configuration. */
export async function compose(config: Config, opts: ComposeOptions = {}): Promise<Composition> {
  const clock = opts.clock ?? systemClock;
  const database = createDatabase(config.db, config.dbPool);
  const closers: Array<() => Promise<void> | void> = [];
  const starters: Array<() => void> = [];
  closers.push(() => database.close());
  try {
    await database.ping();
  } catch (err) {
    await database.close().catch(() => {});
    throw new Error(`TR_DB: cannot reach ${database.describe}: ${(err as Error).message}`);
  }
  if (opts.prepareDatabase) {
    await migrateToLatest(database);
    if (config.seedOnStart) {
      const started = Date.now();
      const inserted = await seedDemoData(database.db, config.demo, progressPrinter(opts.log ?? (() => {})));
      const total = Object.values(inserted).reduce((a, b) => a + b, 0);
      if (total > 0) opts.log?.(`seed: demo data ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }

  const catalog = new CatalogService(catalogRepository(database.db), clock);
  const bookingStore = bookingRepository(database);
  const idempotencyStore = idempotencyRepository(database);
  const hooks: BookingHooks = { afterPaid: [] };
  const reservations = new ReservationService({
    store: bookingStore,
    catalog,
    clock,
    holdTtlSeconds: config.holdTtlSeconds,
  });
  const services: AppServices = {
    clock,
    database,
    catalog,
    bookingStore,
    reservations,
    points: new PointsService({ store: bookingStore, clock }),
    payments: new PaymentService({
      store: bookingStore,
      clock,
      afterPaid: async (userId) => {
        for (const f of hooks.afterPaid) await f(userId);
      },
    }),
    idempotency: new IdempotencyService(idempotencyStore, clock),
    readiness: [{ name: 'database', check: () => database.ping() }],
    extraRoutes: [],
  };

  // Lapsed holds already free their seats; the sweeper only tidies rows and emits reservation.expired.
  let sweeper: NodeJS.Timeout | undefined;
  starters.push(() => {
    sweeper = setInterval(() => {
      reservations.expireLapsedHolds().catch(() => {});
      idempotencyStore.purgeExpired(clock.now()).catch(() => {});
    }, 5000);
    sweeper.unref();
  });
  closers.push(() => clearInterval(sweeper));

  return {
    services,
    start: () => {
      for (const s of starters) s();
    },
    close: async () => {
      for (const c of closers.reverse()) await c();
    },
  };
}
