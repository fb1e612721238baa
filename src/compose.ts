import type { Config } from './config.ts';
import { bookingRepository } from './db/booking-repository.ts';
import { catalogRepository } from './db/catalog-repository.ts';
import { createDatabase } from './db/database.ts';
import { idempotencyRepository } from './db/idempotency-repository.ts';
import { migrateToLatest } from './db/migrate.ts';
import { purgePublished } from './db/outbox-relay-repository.ts';
import { progressPrinter, seedDemoData } from './db/seed.ts';
import { PaymentService } from './domain/booking/payments.ts';
import { PointsService } from './domain/booking/points.ts';
import { ReservationService } from './domain/booking/reservations.ts';
import { CatalogService } from './domain/catalog.ts';
import { type Clock, systemClock } from './domain/clock.ts';
import { IdempotencyService } from './domain/idempotency.ts';
import { WaitingRoom } from './domain/waiting-room.ts';
import { createPublisher } from './events/create-publisher.ts';
import { NatsEventPublisher } from './events/nats-bus.ts';
import { OutboxRelay } from './events/outbox-relay.ts';
import { pressureReadiness } from './http/overload.ts';
import { admissionGate, queueRoutes } from './http/queue.ts';
import { createOperability, type Operability } from './observability/operability.ts';
import { createQueueStore } from './queue/create-store.ts';
import type { AppServices } from './services.ts';

/** The slice of a pino logger background work writes to. */
export interface ComposeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Published events stay in the outbox this long (for inspection and replays), then a minutely purge deletes them. */
const OUTBOX_RETENTION_MS = 24 * 60 * 60 * 1000;

const silentLogger: ComposeLogger = { info: () => {}, warn: () => {}, error: () => {} };

interface BookingHooks {
  afterPaid: Array<(userId: number) => Promise<void> | void>;
}

export interface Composition {
  services: AppServices;
  operability: Operability;
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
  /** Where background work (admission, relay, overload) logs; silent when absent. */
  logger?: ComposeLogger;
}

/** Wires real dependencies from the configuration. */
export async function compose(config: Config, opts: ComposeOptions = {}): Promise<Composition> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  let onPoolWait: (seconds: number) => void = () => {};
  const database = createDatabase(config.db, { ...config.dbPool, onWait: (s) => onPoolWait(s) });
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

  // Waiting room: admission runs in the store (one Lua script on Redis), so any number of processes may tick.
  const queueStore = createQueueStore(config.queue, config.queueSettings, { hashTag: config.queueName });
  closers.push(() => queueStore.close());
  const waitingRoom = new WaitingRoom({
    store: queueStore,
    clock,
    settings: config.queueSettings,
    onTickError: (err) => logger.warn({ err }, 'admission tick failed'),
  });
  services.waitingRoom = waitingRoom;
  services.admissionGate = admissionGate(services);
  services.extraRoutes?.push(queueRoutes);
  services.readiness.push({ name: 'queue', check: () => queueStore.ping() });
  hooks.afterPaid.push(async (userId) => {
    await waitingRoom.releaseUser(userId);
  });
  starters.push(() => waitingRoom.start());
  closers.push(() => waitingRoom.stop());

  // Events: the relay publishes outbox rows in order, at least once, in-process or to NATS JetStream.
  const publisher = createPublisher(config.events, { logger });
  services.events = publisher;
  const relay = new OutboxRelay({ database, publisher, clock, logger });
  starters.push(() => relay.start());
  closers.push(async () => {
    await relay.stop();
    await publisher.close();
  });
  if (publisher instanceof NatsEventPublisher)
    services.readiness.push({
      name: 'nats',
      check: async () => {
        if (!publisher.connected) throw new Error('NATS is not connected');
      },
    });

  // Metrics, overload shedding and adaptive admission.
  const operability = createOperability({
    config,
    clock,
    database,
    waitingRoom,
    outbox: () => relay.stats(),
    log: logger,
  });
  onPoolWait = (seconds) => operability.metrics.poolWait(seconds);
  services.guards = [operability.guardPlugin];
  services.extraRoutes?.push(operability.metricsPlugin);
  services.readiness.push(pressureReadiness(operability.monitor));
  starters.push(() => operability.start());
  closers.push(() => operability.stop());

  // Lapsed holds already free their seats; the sweeper only tidies rows and emits reservation.expired.
  let sweeper: NodeJS.Timeout | undefined;
  let outboxPurger: NodeJS.Timeout | undefined;
  starters.push(() => {
    sweeper = setInterval(() => {
      reservations.expireLapsedHolds().catch(() => {});
      idempotencyStore.purgeExpired(clock.now()).catch(() => {});
    }, 5000);
    sweeper.unref();
    outboxPurger = setInterval(() => {
      purgePublished(database.db, clock.now() - OUTBOX_RETENTION_MS).catch((err) =>
        logger.warn({ err }, 'outbox purge failed'),
      );
    }, 60_000);
    outboxPurger.unref();
  });
  closers.push(() => {
    clearInterval(sweeper);
    clearInterval(outboxPurger);
  });

  return {
    services,
    operability,
    start: () => {
      for (const s of starters) s();
    },
    close: async () => {
      for (const c of closers.reverse()) await c();
    },
  };
}
