import type { Config } from './config.ts';
import { auditRepository } from './db/audit-repository.ts';
import { bookingRepository } from './db/booking-repository.ts';
import { catalogAdminRepository } from './db/catalog-admin-repository.ts';
import { catalogRepository } from './db/catalog-repository.ts';
import { createDatabase, type Database } from './db/database.ts';
import { idempotencyRepository } from './db/idempotency-repository.ts';
import { migrateToLatest } from './db/migrate.ts';
import { operatorKeyRepository } from './db/operator-key-repository.ts';
import { purgePublished } from './db/outbox-relay-repository.ts';
import { salesRepository } from './db/sales-repository.ts';
import { dataNotFromSeed, progressPrinter, seedDemoData } from './db/seed.ts';
import { AccessKeys } from './domain/access-key.ts';
import { AuditLog } from './domain/admin/audit.ts';
import { CatalogAdmin } from './domain/admin/catalog-admin.ts';
import { OperatorKeys } from './domain/admin/operator-keys.ts';
import type { BookingStore } from './domain/booking/model.ts';
import { PaymentService } from './domain/booking/payments.ts';
import { PointsService } from './domain/booking/points.ts';
import { ReservationService } from './domain/booking/reservations.ts';
import { ProviderTopUps } from './domain/booking/top-ups.ts';
import { CatalogService } from './domain/catalog.ts';
import { type Clock, systemClock } from './domain/clock.ts';
import { IdempotencyService } from './domain/idempotency.ts';
import { anyoneMayNameAnyUser, type IdentityGate, verifiedIdentityGate } from './domain/identity.ts';
import { LearnedSession } from './domain/learned-session.ts';
import type { QueueStore, SaleControl } from './domain/queue-store.ts';
import { DEFAULT_SALE_ID, type SaleSettings } from './domain/sales/model.ts';
import { type SaleLine, SaleRooms } from './domain/sales/sale-rooms.ts';
import { SalesService } from './domain/sales/sales.ts';
import { WaitingRoom } from './domain/waiting-room.ts';
import { createPublisher } from './events/create-publisher.ts';
import { NatsEventPublisher } from './events/nats-bus.ts';
import { OutboxRelay } from './events/outbox-relay.ts';
import type { TokenIssueLimits } from './http/rate-limit.ts';
import { saleAdmissionGate } from './http/sale-gate.ts';
import { JwtIdentityVerifier, type JwtKeySource } from './identity/jwt-verifier.ts';
import { Lifecycle } from './lifecycle.ts';
import { type Logger, silentLogger } from './logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { createOperability, type Operability } from './observability/operability.ts';
import { type DependencyCheck, pressureReadiness } from './observability/readiness.ts';
import { sharedAccessKeySecret } from './queue/access-key-secret.ts';
import { createQueueStore, storeSettingsOf } from './queue/create-store.ts';
import { redisSessionLengths } from './queue/learned-session-store.ts';
import { MemoryQueueStore } from './queue/memory-store.ts';
import { connectRedis, type RedisClient } from './queue/redis-connection.ts';
import { RedisQueueStore } from './queue/redis-store.ts';
import type { AppServices } from './services.ts';

/** Published events stay in the outbox this long (for inspection and replays), then a minutely purge deletes them. */
const OUTBOX_RETENTION_MS = 24 * 60 * 60 * 1000;
const HOLD_SWEEP_MS = 5000;
const IDEMPOTENCY_PURGE_MS = 5000;
const OUTBOX_PURGE_MS = 60_000;

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
  /** Where background work (admission, relay, overload, sweepers) logs; silent when absent. */
  logger?: Logger;
}

interface Parts {
  config: Config;
  clock: Clock;
  /** Every room of every process sharing the store signs and checks keys with the same secret. */
  accessKeys: AccessKeys;
  /** The session length the last sale measured: the ETA prior of every room until it measures its own. */
  learnedSession: LearnedSession;
  logger: Logger;
  life: Lifecycle;
  readiness: DependencyCheck[];
}

/** Wires real dependencies from the configuration: the one builder of AppServices, for main.ts, tests and benches. */
export async function compose(config: Config, opts: ComposeOptions = {}): Promise<Composition> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const life = new Lifecycle();
  const parts: Parts = {
    config,
    clock,
    accessKeys: accessKeysOf(config, life),
    learnedSession: learnedSessionOf(config, life, logger),
    logger,
    life,
    readiness: [],
  };
  const metrics = createMetrics();
  // Pool checkouts feed the metric from the start, and the admission controller once it exists.
  let onPoolWait = (seconds: number, cls?: string) => metrics.poolWait(seconds, cls);
  const database = await openDatabase(parts, (seconds, cls) => onPoolWait(seconds, cls));
  if (opts.prepareDatabase) await prepareDatabase(database, config, opts.log ?? (() => {}));
  const defaultLine = waitingRoomOf(parts);
  const waitingRoom = defaultLine.room;
  const salesService = new SalesService(salesRepository(database), clock, saleDefaultsOf(config));
  let followDefaultSale = (_control: SaleControl) => {};
  let governSale: Operability['governSale'] = () => undefined;
  const saleRooms = saleRoomsOf(parts, salesService, defaultLine, {
    onDefaultControl: (control) => followDefaultSale(control),
    // Lines are built on first use, after composition: by then the operability below exists.
    govern: (saleId, room, control) =>
      governSale(room, { saleId, admitPerSecond: control.admitPerSecond, maxWindow: control.maxActive }),
  });
  const booking = bookingServices({
    database,
    clock,
    holdTtlSeconds: config.holdTtlSeconds,
    maxHoldsPerUser: config.maxHoldsPerUser,
    afterPaid: async (userId) => {
      await Promise.all([waitingRoom.releaseUser(userId), saleRooms.releaseUser(userId)]);
    },
    afterPaidFailed: (err, userId) =>
      logger.warn(
        { err, userId },
        'payment committed, but freeing the waiting-room slot failed; it lapses by itself',
      ),
  });
  // Catalog changes made here drop this process's schedule copies at once; other processes' copies age out.
  const admin = adminServices(database, clock, () => booking.catalog.forgetSchedules());
  const bootstrapKey = config.adminBootstrapKey.reveal() || config.adminKey.reveal();
  if (bootstrapKey) await admin.operatorKeys.ensureBootstrap(bootstrapKey);
  const relay = outboxRelayOf(parts, database);
  const operability = operabilityOf(parts, { database, waitingRoom, relay, metrics });
  onPoolWait = (seconds, cls) => operability.poolWait(seconds, cls);
  followDefaultSale = (control) =>
    operability.admission.setWindowBounds(control.minWindow, control.maxWindow);
  governSale = (room, pace) => operability.governSale(room, pace);
  metrics.observe({ sales: () => saleRooms.seriesForMetrics() });
  scheduleHousekeeping(parts, database, booking);
  const services: AppServices = {
    clock,
    database,
    ...booking,
    ...admin,
    waitingRoom,
    sales: salesService,
    saleRooms,
    admissionGate: saleAdmissionGate(saleRooms),
    identity: identityOf(parts),
    providerTopUps: providerTopUpsOf(parts, booking.bookingStore),
    tokenIssueLimits: tokenIssueLimitsOf(parts),
    readiness: parts.readiness,
    metrics,
    pressure: operability.monitor,
    bookingResponses: operability.window,
  };
  return { services, start: () => parts.life.start(), close: () => parts.life.close() };
}

async function openDatabase(
  { config, logger, life, readiness }: Parts,
  onPoolWait: (seconds: number, cls?: string) => void,
): Promise<Database> {
  const database = createDatabase(config.db, {
    ...config.dbPool,
    sojourn: { targetMs: config.overload.poolTargetMs, intervalMs: config.overload.poolIntervalMs },
    onWait: onPoolWait,
    onConnectionError: (err) => logger.warn({ err }, 'database connection lost; the pool reconnects'),
  });
  life.onClose(() => database.close());
  try {
    await database.ping();
  } catch (err) {
    await database.close().catch(() => {});
    throw new Error(`TR_DB: cannot reach ${database.describe}: ${(err as Error).message}`);
  }
  readiness.push({ name: 'database', check: () => database.ping() });
  return database;
}

async function prepareDatabase(
  database: Database,
  config: Config,
  log: (line: string) => void,
): Promise<void> {
  await migrateToLatest(database);
  if (!config.seedOnStart) return;
  const foreign = await dataNotFromSeed(database.db);
  if (foreign) {
    log(`seed: skipped, ${foreign}; \`ticketrush seed\` adds demo data on purpose`);
    return;
  }
  const started = Date.now();
  const inserted = await seedDemoData(database.db, config.demo, progressPrinter(log));
  const total = Object.values(inserted).reduce((a, b) => a + b, 0);
  if (total > 0) log(`seed: demo data ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Admission runs in the store (one Lua script on Redis), so any number of processes may tick. */
function waitingRoomOf({
  config,
  clock,
  accessKeys,
  learnedSession,
  logger,
  life,
  readiness,
}: Parts): SaleLine {
  const store = createQueueStore(config.queue, config.queueSettings, {
    hashTag: config.queueName,
    maxWaiting: config.maxWaiting,
  });
  life.onClose(() => store.close());
  const waitingRoom = new WaitingRoom({
    store,
    clock,
    settings: config.queueSettings,
    accessKeys,
    learnedSession,
    onTickError: (err) => logger.warn({ err }, 'admission tick failed'),
  });
  readiness.push({ name: 'queue', check: () => store.ping() });
  life.onStart(() => waitingRoom.start());
  life.onClose(() => waitingRoom.stop());
  return { store, room: waitingRoom };
}

/** TR_ACCESS_KEY_SECRET, else a random secret: this process's own (memory), or the one stored in Redis. */
function accessKeysOf(config: Config, life: Lifecycle): AccessKeys {
  const configured = config.accessKeySecret.reveal();
  if (configured !== '') return new AccessKeys(Buffer.from(configured));
  if (config.queue === 'memory') return new AccessKeys();
  const shared = sharedAccessKeySecret(config.queue, config.queueName);
  life.onClose(shared.close);
  return new AccessKeys(shared.read);
}

/**
 * TR_EXPECTED_SESSION_SECONDS until a sale measured its sessions; on Redis what a sale measured outlives the process
 * (read at start, written as sales measure), in memory it lives as long as the waiting room does.
 */
function learnedSessionOf(config: Config, life: Lifecycle, logger: Logger): LearnedSession {
  const configured = config.queueSettings.expectedSessionSeconds;
  const fallbackMs = configured > 0 ? configured * 1000 : undefined;
  if (config.queue === 'memory') return new LearnedSession({ fallbackMs });
  const store = redisSessionLengths(config.queue, config.queueName);
  life.onClose(store.close);
  const learned = new LearnedSession({
    fallbackMs,
    store,
    onError: (err) => logger.warn({ err }, 'the learned session length could not be read or written'),
  });
  life.onStart(() => void learned.load());
  return learned;
}

/** What a sale follows unless an operator set otherwise: the configured waiting room. */
function saleDefaultsOf(config: Config): SaleSettings {
  return {
    admitPerSecond: config.queueSettings.admitPerSecond,
    maxActive: config.queueSettings.maxActive,
    minWindow: Math.max(1, Math.ceil(config.queueSettings.maxActive * 0.02)),
    maxWindow: config.queueSettings.maxActive,
    overbook: config.saleOverbook,
    paused: false,
  };
}

/**
 * One waiting room per sale. On Redis every sale's keys share one client and sit under their own hash tag
 * (`<TR_QUEUE_NAME>:sale:<id>`), so each sale's room is one Redis Cluster hash slot; the default sale is the
 * server's waiting room.
 */
function saleRoomsOf(
  { config, clock, accessKeys, learnedSession, logger, life }: Parts,
  sales: SalesService,
  defaultLine: SaleLine,
  follow: Pick<ConstructorParameters<typeof SaleRooms>[0], 'onDefaultControl' | 'govern'>,
): SaleRooms {
  let redis: RedisClient | undefined;
  const open = (saleId: number): SaleLine => {
    if (saleId === DEFAULT_SALE_ID) return defaultLine;
    const settings = storeSettingsOf(config.queueSettings, config.maxWaiting);
    const hashTag = `${config.queueName}:sale:${saleId}`;
    let store: QueueStore;
    if (config.queue === 'memory') store = new MemoryQueueStore(settings);
    else {
      redis ??= sharedRedis(config.queue);
      store = new RedisQueueStore({ redis, settings, hashTag });
    }
    const room = new WaitingRoom({
      store,
      clock,
      settings: config.queueSettings,
      accessKeys,
      learnedSession,
      onTickError: (err) => logger.warn({ err, saleId }, 'admission tick failed'),
    });
    return { store, room, shared: config.queue !== 'memory' };
  };
  const saleRooms = new SaleRooms({
    sales,
    clock,
    open,
    onError: (err, saleId) => logger.warn({ err, saleId }, 'sale step failed'),
    ...follow,
    drawLeadMs: config.drawLeadSeconds * 1000,
  });
  life.onStart(() => saleRooms.start());
  life.onClose(async () => {
    await saleRooms.close();
    if (redis) await redis.quit().catch(() => redis?.disconnect());
  });
  return saleRooms;
}

/** One client for every sale's room: the queue store's fail-fast policy, on a server or a cluster. */
function sharedRedis(url: string): RedisClient {
  const redis = connectRedis(url);
  redis.on('error', () => {});
  return redis;
}

/** With TR_IDENTITY=jwt only the holder of a user's login JWT may take that user's place in line. */
function identityOf({ config, clock }: Parts): IdentityGate {
  const { mode, secret, publicKeyPem, jwksUrl, ...claims } = config.identity;
  if (mode === 'none') return anyoneMayNameAnyUser;
  const key: JwtKeySource = jwksUrl
    ? { kind: 'jwksUrl', url: jwksUrl }
    : publicKeyPem
      ? { kind: 'publicKey', pem: publicKeyPem }
      : { kind: 'secret', secret };
  return verifiedIdentityGate(new JwtIdentityVerifier({ key, ...claims }, clock));
}

/** The payment provider's signed callbacks, when its secret is configured. */
function providerTopUpsOf({ config, clock }: Parts, store: BookingStore): ProviderTopUps | undefined {
  const { secret, toleranceSeconds } = config.paymentProvider;
  if (secret.reveal() === '') return undefined;
  return new ProviderTopUps({ store, clock, secret: secret.reveal(), toleranceSeconds });
}

/** Counted in Redis when the waiting room lives there, so every process shares one budget. */
function tokenIssueLimitsOf({ config, life }: Parts): TokenIssueLimits {
  const limits = {
    perIpPerMinute: config.tokenRateLimit.perIpPerMinute,
    perUserPerMinute: config.tokenRateLimit.perUserPerMinute,
    exemptLoopback: config.identity.mode === 'none',
  };
  if (config.queue === 'memory') return { ...limits, store: 'memory' };
  // The queue store's fail-fast policy: during an outage a check gives up within a quarter of a second.
  const redis = connectRedis(config.queue);
  // An outage skips the limits (skipOnError) and shows on /health/ready through the queue store, not as log floods.
  redis.on('error', () => {});
  life.onClose(async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  return { ...limits, store: { redis, nameSpace: `ticketrush:${config.queueName}:token-rate:` } };
}

export interface BookingDeps {
  database: Database;
  clock: Clock;
  holdTtlSeconds: number;
  maxHoldsPerUser: number;
  /** Runs after a payment committed; compose frees the user's waiting-room slot. */
  afterPaid: (userId: number) => Promise<void> | void;
  /** Told when afterPaid failed; the payment stands. */
  afterPaidFailed?: (err: unknown, userId: number) => void;
}

/** Catalog, holds, points, payments and idempotency on one database: the same for the server and the contract tests. */
export function bookingServices(deps: BookingDeps) {
  const { database, clock } = deps;
  const catalog = new CatalogService(catalogRepository(database.db), clock);
  const bookingStore = bookingRepository(database);
  return {
    catalog,
    bookingStore,
    reservations: new ReservationService({
      store: bookingStore,
      catalog,
      clock,
      holdTtlSeconds: deps.holdTtlSeconds,
      maxHoldsPerUser: deps.maxHoldsPerUser,
    }),
    points: new PointsService({ store: bookingStore, clock }),
    payments: new PaymentService({
      store: bookingStore,
      clock,
      catalog,
      afterPaid: deps.afterPaid,
      afterPaidFailed: deps.afterPaidFailed,
    }),
    idempotency: new IdempotencyService(idempotencyRepository(database), clock),
  };
}

/** What the /admin/api routes use: operator keys, catalog changes, the audit log. */
export function adminServices(database: Database, clock: Clock, afterCatalogChange?: () => void) {
  return {
    operatorKeys: new OperatorKeys(operatorKeyRepository(database), clock),
    catalogAdmin: new CatalogAdmin(catalogAdminRepository(database), clock, afterCatalogChange),
    auditLog: new AuditLog(auditRepository(database.db)),
  };
}

/** The relay publishes outbox rows in order, at least once, in-process or to NATS JetStream. */
function outboxRelayOf({ config, clock, logger, life, readiness }: Parts, database: Database): OutboxRelay {
  const publisher = createPublisher(config.events, { logger });
  const relay = new OutboxRelay({ database, publisher, clock, logger });
  life.onStart(() => relay.start());
  life.onClose(async () => {
    await relay.stop();
    await publisher.close();
  });
  if (publisher instanceof NatsEventPublisher)
    readiness.push({
      name: 'nats',
      check: async () => {
        if (!publisher.connected) throw new Error('NATS is not connected');
      },
    });
  return relay;
}

/** Metrics sources, the pressure monitor (overload guard, readiness) and adaptive admission. */
function operabilityOf(
  { config, clock, learnedSession, logger, life, readiness }: Parts,
  deps: { database: Database; waitingRoom: WaitingRoom; relay: OutboxRelay; metrics: Metrics },
): Operability {
  const operability = createOperability({
    config,
    clock,
    database: deps.database,
    waitingRoom: deps.waitingRoom,
    etaPriorSessionMs: () => learnedSession.priorMs(),
    outbox: () => deps.relay.stats(),
    log: logger,
    metrics: deps.metrics,
  });
  readiness.push(pressureReadiness(operability.monitor));
  life.onStart(() => operability.start());
  life.onClose(() => operability.stop());
  return operability;
}

/** Lapsed holds already free their seats; the sweep only tidies rows and emits reservation.expired. */
function scheduleHousekeeping(
  { clock, logger, life }: Parts,
  database: Database,
  booking: ReturnType<typeof bookingServices>,
): void {
  life.every(HOLD_SWEEP_MS, 'hold sweep', () => booking.reservations.expireLapsedHolds(), logger);
  life.every(IDEMPOTENCY_PURGE_MS, 'idempotency purge', () => booking.idempotency.purgeExpired(), logger);
  life.every(
    OUTBOX_PURGE_MS,
    'outbox purge',
    () => purgePublished(database.db, clock.now() - OUTBOX_RETENTION_MS),
    logger,
  );
}
