import { isIP } from 'node:net';
import type { WaitingRoomSettings } from './domain/waiting-room.ts';
import { algorithmOfPublicKey } from './identity/jwt-verifier.ts';
import { redactUrl } from './redact.ts';
import { clusterSeeds } from './redis-url.ts';
import { Secret } from './secret.ts';

/** The environment, validated once at start-up; a bad value stops start-up with a one-line message naming it. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string, got: string | undefined) {
    // Database, queue and bus URLs may carry a password: no message shows it.
    super(
      `${variable}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(redactUrl(got))}`,
    );
    this.name = 'ConfigError';
  }
}

export interface Config {
  host: string;
  port: number;
  /** Where /metrics and /health/ready are served; loadConfig resolves 'auto' (see resolveInternalPort). */
  internal: { host: string; port: InternalPort };
  db: string;
  queue: string;
  /** Names the waiting room inside Redis (its hash tag), so several deployments or tests can share one server. */
  queueName: string;
  /** Signs access keys; empty: random per start (memory) or one random secret stored once in Redis. */
  accessKeySecret: Secret;
  events: string;
  logLevel: string;
  /** How log lines are written: pretty (for people) or JSON lines (for log shippers); auto picks pretty on a TTY. */
  logFormat: LogFormat;
  seedOnStart: boolean;
  demo: {
    users: number;
    schedules: number;
    schedulesPerConcert: number;
    seatsPerSchedule: number;
    startingPoints: number;
  };
  queueSettings: Required<WaitingRoomSettings>;
  /** Most users waiting in line; a newcomer beyond it gets 503 QUEUE_FULL with Retry-After. */
  maxWaiting: number;
  holdTtlSeconds: number;
  /** Most seats one user may hold at once. */
  maxHoldsPerUser: number;
  /** A sale admits at most ceil((free + held seats) x this) users at once, unless its operator set otherwise. */
  saleOverbook: number;
  /**
   * A scheduled sale's draw runs this long before its opening (0: at the opening), so the pre-queued crowd learns
   * its drawn places before admission starts and comes back spread out instead of all at the opening.
   */
  drawLeadSeconds: number;
  /** The operator console's key (the older name of adminBootstrapKey); used when that is empty. */
  adminKey: Secret;
  /** An operator key made valid at start (stored hashed under the name `bootstrap`); '' for none. Never logged. */
  adminBootstrapKey: Secret;
  workers: number;
  http: {
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    connectionTimeoutMs: number;
    maxConnections: number;
  };
  /** `min`: connections opened at start and kept open ('max': all of them, a fixed-size pool). */
  dbPool: { max: number; min: number | 'max'; acquireTimeoutMs: number };
  /**
   * Bounds beyond which requests get 503 OVERLOADED at once; 0 switches a bound off (heap: 0 is 80% of V8's
   * limit). The connection queue sheds by sojourn time (CoDel): waits above poolTargetMs for poolIntervalMs.
   */
  overload: { maxEventLoopDelayMs: number; maxHeapMb: number; poolTargetMs: number; poolIntervalMs: number };
  /**
   * The active-user window (up to TR_MAX_ACTIVE) and the admission rate (min..max) adapt to the booking
   * path's health, unless adaptive is off.
   */
  admission: {
    adaptive: boolean;
    minPerSecond: number;
    maxPerSecond: number;
    targetP95Ms: number;
    targetPoolWaitMs: number;
    maxErrorPercent: number;
  };
  /** Who may take a user's place in line: anyone naming the id (the demo), or the holder of that user's JWT. */
  identity: {
    mode: 'none' | 'jwt';
    /** Exactly one of secret, publicKeyPem and jwksUrl is set with jwt; empty otherwise. */
    secret: Secret;
    publicKeyPem: string;
    jwksUrl: string;
    issuer: string;
    audience: string;
    clockToleranceSeconds: number;
  };
  /** The payment provider whose signed callbacks confirm top-ups; no secret: no callback route. */
  paymentProvider: { secret: Secret; toleranceSeconds: number };
  /** Token issues per minute per client address and per user; 0 switches a limit off. */
  tokenRateLimit: { perIpPerMinute: number; perUserPerMinute: number };
  /** Browser origins allowed to call the API cross-origin; empty: CORS off. */
  corsOrigins: string[];
  /** Proxy addresses whose X-Forwarded-For is believed (Fastify trustProxy); empty: none. */
  trustProxy: string[];
}

/** A port of its own (0 picks a free one), the API's port ('main'), or 'auto' until loadConfig resolves it. */
export type InternalPort = number | 'main' | 'auto';

/** The internal port of anything but the embedded demo when TR_INTERNAL_PORT is auto. */
export const DEFAULT_INTERNAL_PORT = 9464;

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How one setting's text becomes a value; `undefined` when the text is not one. */
interface Parser<T> {
  /** What the error message says was expected. */
  expected: string;
  parse(raw: string): T | undefined;
  /** What the error message says was got, when the text itself must not be shown (a secret). */
  shown?(raw: string): string;
}

/** One environment variable: where it lands in Config, how it is read, its default and its one-line meaning. */
interface Setting<T> {
  name: string;
  parser: Parser<T>;
  fallback: T;
  description: string;
}

/** The settings table has the shape of Config, with a Setting in place of every value. */
type SettingsOf<T> = {
  [K in keyof T]: T[K] extends string | number | boolean | Secret | string[]
    ? Setting<T[K]>
    : SettingsOf<T[K]>;
};

const integer = (min: number, max: number): Parser<number> => ({
  expected: `an integer from ${min} to ${max}`,
  parse: (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return undefined;
    const n = Number(raw);
    return n >= min && n <= max ? n : undefined;
  },
});

const decimal = (min: number, max: number): Parser<number> => ({
  expected: `a number from ${min} to ${max}`,
  parse: (raw) => {
    if (!/^\d+(\.\d+)?$/.test(raw.trim())) return undefined;
    const n = Number(raw);
    return n >= min && n <= max ? n : undefined;
  },
});

const boolean: Parser<boolean> = {
  expected: 'true or false',
  parse: (raw) => {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    return undefined;
  },
};

const text = (test: (v: string) => boolean, expected: string): Parser<string> => ({
  expected,
  parse: (raw) => (test(raw) ? raw : undefined),
});

const oneOf = <V extends string>(values: readonly V[]): Parser<V> => ({
  expected: `one of ${values.join(', ')}`,
  parse: (raw) => values.find((v) => v === raw),
});

const urlWith = (schemes: string[]) => (v: string) => {
  try {
    return schemes.includes(new URL(v).protocol);
  } catch {
    return false;
  }
};

/** Comma-separated items, each passing `test`; empty text is an empty list. */
const list = (test: (v: string) => boolean, expected: string): Parser<string[]> => ({
  expected,
  parse: (raw) => {
    const items = raw.split(',').map((v) => v.trim());
    return items.every((v) => v !== '' && test(v)) ? items : undefined;
  },
});

const isOrigin = (v: string): boolean => {
  try {
    const url = new URL(v);
    return ['http:', 'https:'].includes(url.protocol) && url.origin === v;
  } catch {
    return false;
  }
};

/** HS256 keys shorter than the hash are guessable (RFC 7518 3.2). */
const MIN_SECRET_BYTES = 32;

const secretText: Parser<Secret> = {
  expected: `at least ${MIN_SECRET_BYTES} bytes`,
  parse: (raw) => (Buffer.byteLength(raw) >= MIN_SECRET_BYTES ? new Secret(raw) : undefined),
  shown: (raw) => `${Buffer.byteLength(raw)} bytes`,
};

/** A PEM public key, literal newlines or `\n` escapes as env files write them; RSA or P-256 only. */
const publicKeyPem: Parser<string> = {
  expected: 'an RSA or P-256 EC public key in PEM (SPKI)',
  parse: (raw) => {
    const pem = raw.replaceAll('\\n', '\n');
    try {
      return algorithmOfPublicKey(pem) ? pem : undefined;
    } catch {
      return undefined;
    }
  },
  shown: (raw) => `${raw.slice(0, 30)}...`,
};

const jwksUrl = text(
  (v) =>
    urlWith(['https:'])(v) ||
    (urlWith(['http:'])(v) && ['localhost', '127.0.0.1', '[::1]'].includes(new URL(v).hostname)),
  'an https:// URL (http:// only on localhost)',
);

const internalPort: Parser<InternalPort> = {
  expected: 'auto, main or a port from 0 to 65535',
  parse: (raw) => (raw === 'auto' || raw === 'main' ? raw : integer(0, 65535).parse(raw)),
};
const poolMin: Parser<number | 'max'> = {
  expected: 'max or an integer from 0 to 1000',
  parse: (raw) => (raw === 'max' ? raw : integer(0, 1000).parse(raw)),
};
/** An operator key: printable, no spaces, `min` to 256 characters; a refusal names its length only. */
const operatorKeyOf = (min: number): Parser<Secret> => ({
  expected: `${min} to 256 printable characters without spaces`,
  parse: (raw) => (raw.length >= min && /^[\x21-\x7e]{1,256}$/.test(raw) ? new Secret(raw) : undefined),
  shown: (raw) => `${raw.length} characters`,
});

const setting = <T>(name: string, parser: Parser<T>, fallback: T, description: string): Setting<T> => ({
  name,
  parser,
  fallback,
  description,
});

/** Every setting, once: loadConfig reads it, `ticketrush --help` and the README list it in this order. */
const table: SettingsOf<Config> = {
  host: setting(
    'HOST',
    text((v) => /^[\w.:-]+$/.test(v), 'a host name or IP address'),
    '127.0.0.1',
    'Address the API listens on',
  ),
  port: setting('PORT', integer(0, 65535), 3000, 'Port the API listens on (0 picks a free one)'),
  internal: {
    host: setting(
      'TR_INTERNAL_HOST',
      text((v) => /^[\w.:-]+$/.test(v), 'a host name or IP address'),
      '127.0.0.1',
      'Address the internal port (/metrics, /health/ready) listens on',
    ),
    port: setting(
      'TR_INTERNAL_PORT',
      internalPort,
      'auto',
      `Port of /metrics and /health/ready: a number (0 picks a free one), main (the API port), auto (main for the embedded demo, ${DEFAULT_INTERNAL_PORT} otherwise)`,
    ),
  },
  db: setting(
    'TR_DB',
    text(
      (v) => /^sqlite:.+/.test(v) || urlWith(['postgres:', 'postgresql:', 'mysql:', 'mariadb:'])(v),
      'sqlite:<path>, postgres://user@host:port/db or mysql://user@host:port/db',
    ),
    'sqlite:data/ticketrush.db',
    'Database URL: sqlite:<path>, postgres://... or mysql://...',
  ),
  queue: setting(
    'TR_QUEUE',
    text(
      (v) => v === 'memory' || urlWith(['redis:', 'rediss:'])(v) || clusterSeeds(v) !== undefined,
      'memory or redis://host:port (redis-cluster://host:port,host:port,... for a cluster)',
    ),
    'memory',
    'Waiting-room store: memory (one process), redis://host:port, or redis-cluster://host:port,host:port,... (seed nodes of a Redis Cluster; each room lives on the master of its hash tag)',
  ),
  queueName: setting(
    'TR_QUEUE_NAME',
    text((v) => /^[A-Za-z0-9_.-]{1,64}$/.test(v), '1 to 64 letters, digits, _ . or -'),
    'q',
    'Name of the waiting room in Redis (its key hash tag); lets deployments share a server',
  ),
  accessKeySecret: setting(
    'TR_ACCESS_KEY_SECRET',
    secretText,
    new Secret(''),
    'HMAC secret signing waiting-room access keys (at least 32 bytes); unset: random per start with TR_QUEUE=memory, else one random secret stored once in Redis and read by every process',
  ),
  events: setting(
    'TR_EVENTS',
    text((v) => v === 'inprocess' || urlWith(['nats:'])(v), 'inprocess or nats://host:port'),
    'inprocess',
    'Event bus for the outbox relay: inprocess or nats://host:port',
  ),
  logLevel: setting(
    'LOG_LEVEL',
    oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'pino log level',
  ),
  logFormat: setting(
    'TR_LOG_FORMAT',
    oneOf(LOG_FORMATS),
    'auto',
    'Log lines: pretty (for people), json (for log shippers), auto (pretty when stdout is a terminal)',
  ),
  seedOnStart: setting(
    'TR_SEED_ON_START',
    boolean,
    true,
    'Fill demo data on `serve` (unset: true for sqlite:, false otherwise); never over data the demo seed did not write',
  ),
  demo: {
    users: setting('TR_DEMO_USERS', integer(1, 10_000_000), 100_000, 'Demo users 1..N'),
    schedules: setting('TR_DEMO_SCHEDULES', integer(1, 10_000_000), 99_999, 'Demo schedules 1..N'),
    schedulesPerConcert: setting(
      'TR_DEMO_SCHEDULES_PER_CONCERT',
      integer(1, 100_000),
      50,
      'Schedules per demo concert (schedule 1 is concert 1)',
    ),
    seatsPerSchedule: setting('TR_DEMO_SEATS', integer(1, 10_000), 100, 'Seats per schedule'),
    startingPoints: setting(
      'TR_DEMO_POINTS',
      integer(0, 1_000_000_000),
      1_000_000,
      'Points each demo wallet starts with (one DEMO_GRANT ledger row each), so demo users can pay',
    ),
  },
  queueSettings: {
    admitPerSecond: setting(
      'TR_ADMIT_PER_SECOND',
      integer(1, 1_000_000),
      200,
      'Waiting-room admissions per second',
    ),
    maxActive: setting('TR_MAX_ACTIVE', integer(1, 10_000_000), 2000, 'Most users admitted at once'),
    activeTtlSeconds: setting(
      'TR_ACTIVE_TTL_SECONDS',
      integer(1, 86_400),
      900,
      'Longest one admission lasts however active its user is (idle users lapse long before)',
    ),
    activeIdleSeconds: setting(
      'TR_ACTIVE_IDLE_SECONDS',
      integer(1, 86_400),
      15,
      'An admitted user with no request for this long (up to 3 s more) lapses and frees the slot',
    ),
    tokenGraceSeconds: setting(
      'TR_TOKEN_GRACE_SECONDS',
      integer(0, 3600),
      30,
      'How long a replaced key keeps working (second tab or device)',
    ),
    idleTimeoutSeconds: setting(
      'TR_IDLE_TIMEOUT_SECONDS',
      integer(5, 3600),
      30,
      'Least time a waiting user may go without polling before losing the place',
    ),
    expectedSessionSeconds: setting(
      'TR_EXPECTED_SESSION_SECONDS',
      integer(0, 3600),
      0,
      'How long an admitted user is expected to hold a slot (pick to pay), for ETAs until departures are measured; once a sale has measured its sessions, the next sales start from that instead. 0: assume nothing, and tell places that wait on departures no ETA (admission ESTIMATING) until half a window has left',
    ),
  },
  maxWaiting: setting(
    'TR_MAX_WAITING',
    integer(1, 100_000_000),
    500_000,
    'Most users waiting in line at once; a newcomer beyond it gets 503 QUEUE_FULL with Retry-After (those in line keep their place)',
  ),
  holdTtlSeconds: setting(
    'TR_HOLD_TTL_SECONDS',
    integer(1, 86_400),
    300,
    'How long a seat hold lasts before the seat is free again',
  ),
  maxHoldsPerUser: setting(
    'TR_MAX_HOLDS_PER_USER',
    integer(1, 1000),
    4,
    'Most seats one user may hold at once (unpaid); more is 409 HOLD_LIMIT_REACHED',
  ),
  saleOverbook: setting(
    'TR_SALE_OVERBOOK',
    decimal(1, 100),
    1.25,
    'A sale admits at most ceil((free + held seats) x this) users at once (a sale’s default overbook; bench/sale-overbook.ts)',
  ),
  drawLeadSeconds: setting(
    'TR_DRAW_LEAD_SECONDS',
    integer(0, 3600),
    0,
    'A scheduled sale draws its pre-queue this long before the opening; fans who come after the draw queue behind the drawn. The pre-queue learns its places early and returns spread over this time (0: the draw at the opening, every pre-queued fan polls then)',
  ),
  adminKey: setting(
    'TR_ADMIN_KEY',
    operatorKeyOf(16),
    new Secret(''),
    'Older name of TR_ADMIN_BOOTSTRAP_KEY (16-256 printable characters), used when that one is unset',
  ),
  adminBootstrapKey: setting(
    'TR_ADMIN_BOOTSTRAP_KEY',
    operatorKeyOf(32),
    new Secret(''),
    'Operator key valid from start, stored hashed under the name bootstrap (32-256 printable characters)',
  ),
  workers: setting(
    'TR_WORKERS',
    integer(1, 64),
    1,
    'Server processes sharing the port (needs TR_QUEUE=redis://...)',
  ),
  http: {
    requestTimeoutMs: setting(
      'TR_REQUEST_TIMEOUT_MS',
      integer(100, 600_000),
      10_000,
      'Longest time a request may take before the server gives up',
    ),
    keepAliveTimeoutMs: setting(
      'TR_KEEP_ALIVE_TIMEOUT_MS',
      integer(1000, 600_000),
      72_000,
      'Idle keep-alive connection timeout',
    ),
    connectionTimeoutMs: setting(
      'TR_CONNECTION_TIMEOUT_MS',
      integer(100, 600_000),
      15_000,
      'Socket inactivity timeout',
    ),
    maxConnections: setting(
      'TR_MAX_CONNECTIONS',
      integer(1, 1_000_000),
      10_000,
      'Most open client connections',
    ),
  },
  dbPool: {
    max: setting(
      'TR_DB_POOL_MAX',
      integer(1, 1000),
      10,
      'Database connections per process (PostgreSQL, MySQL)',
    ),
    min: setting(
      'TR_DB_POOL_MIN',
      poolMin,
      'max',
      'Database connections opened at start and never closed for idleness (max: all of TR_DB_POOL_MAX, so the first burst of a sale waits for no new connection; 0: opened on demand, idle ones closed after 30 s)',
    ),
    acquireTimeoutMs: setting(
      'TR_DB_ACQUIRE_TIMEOUT_MS',
      integer(10, 120_000),
      2000,
      'Longest wait for a pooled connection before 503 BUSY; a request expecting to wait longer (catalog: half, top-up: 3/4) gets 503 OVERLOADED at once',
    ),
  },
  overload: {
    maxEventLoopDelayMs: setting(
      'TR_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS',
      integer(0, 60_000),
      250,
      'Mean event-loop delay beyond which requests get 503 OVERLOADED (0: off)',
    ),
    maxHeapMb: setting(
      'TR_OVERLOAD_MAX_HEAP_MB',
      integer(0, 1_000_000),
      0,
      "Heap in use (MB) beyond which requests get 503 OVERLOADED (0: 80% of V8's limit; at most 90%); halfway from it to the limit the waiting room is refused too and /health/ready fails",
    ),
    poolTargetMs: setting(
      'TR_OVERLOAD_POOL_TARGET_MS',
      integer(1, 60_000),
      50,
      'CoDel target: a request class whose waits for a database connection stay above this...',
    ),
    poolIntervalMs: setting(
      'TR_OVERLOAD_POOL_INTERVAL_MS',
      integer(10, 600_000),
      500,
      '...for this long gets 503 OVERLOADED (catalog first, payments never by this rule) until its queue drains',
    ),
  },
  admission: {
    adaptive: setting(
      'TR_ADMIT_ADAPTIVE',
      boolean,
      true,
      'Adapt the active-user window and admission rate to the booking path health; false keeps TR_MAX_ACTIVE and TR_ADMIT_PER_SECOND',
    ),
    minPerSecond: setting(
      'TR_ADMIT_MIN_PER_SECOND',
      integer(1, 1_000_000),
      20,
      'Lowest adaptive admission rate',
    ),
    maxPerSecond: setting(
      'TR_ADMIT_MAX_PER_SECOND',
      integer(1, 1_000_000),
      2000,
      'Highest adaptive admission rate',
    ),
    targetP95Ms: setting(
      'TR_ADMIT_TARGET_P95_MS',
      integer(10, 60_000),
      250,
      'Booking-path p95 above which the window and rate are cut (below the overload guard’s 250 ms loop delay)',
    ),
    targetPoolWaitMs: setting(
      'TR_ADMIT_TARGET_POOL_WAIT_MS',
      integer(1, 60_000),
      25,
      'p95 wait for a database connection above which the window and rate are cut',
    ),
    maxErrorPercent: setting(
      'TR_ADMIT_MAX_ERROR_PERCENT',
      integer(0, 100),
      5,
      'Booking-path 5xx/503 share above which the window and rate are cut',
    ),
  },
  identity: {
    mode: setting(
      'TR_IDENTITY',
      oneOf(['none', 'jwt'] as const),
      'none',
      "Who may take a user's place in line: none (anyone naming the id; demo only) or jwt (the user's own login JWT)",
    ),
    secret: setting(
      'TR_JWT_SECRET',
      secretText,
      new Secret(''),
      "jwt: HS256 shared secret of the ticket site's login (at least 32 bytes)",
    ),
    publicKeyPem: setting(
      'TR_JWT_PUBLIC_KEY',
      publicKeyPem,
      '',
      "jwt: the login's RS256 or ES256 public key, PEM (\\n escapes allowed)",
    ),
    jwksUrl: setting(
      'TR_JWT_JWKS_URL',
      jwksUrl,
      '',
      "jwt: the login's JWKS URL (RS256/ES256), https:// (http:// only on localhost)",
    ),
    issuer: setting(
      'TR_JWT_ISSUER',
      text((v) => v.trim() !== '', 'text'),
      '',
      'jwt: required `iss` claim',
    ),
    audience: setting(
      'TR_JWT_AUDIENCE',
      text((v) => v.trim() !== '', 'text'),
      '',
      'jwt: required `aud` claim',
    ),
    clockToleranceSeconds: setting(
      'TR_JWT_CLOCK_TOLERANCE_SECONDS',
      integer(0, 300),
      5,
      'jwt: clock skew allowed on `exp` and `nbf`',
    ),
  },
  paymentProvider: {
    secret: setting(
      'TR_PAYMENT_PROVIDER_SECRET',
      secretText,
      new Secret(''),
      'Shared HMAC-SHA256 secret of the payment provider whose signed callback (POST /api/payments/provider/callback) confirms top-ups; at least 32 bytes; unset: no callback route',
    ),
    toleranceSeconds: setting(
      'TR_PAYMENT_PROVIDER_TOLERANCE_SECONDS',
      integer(1, 3600),
      300,
      "Most seconds a provider callback's signed timestamp may be from now",
    ),
  },
  tokenRateLimit: {
    perIpPerMinute: setting(
      'TR_TOKEN_RATE_PER_IP',
      integer(0, 1_000_000),
      120,
      'Token issues per minute per client address (0: off); loopback is exempt with TR_IDENTITY=none',
    ),
    perUserPerMinute: setting(
      'TR_TOKEN_RATE_PER_USER',
      integer(0, 1_000_000),
      10,
      'Token issues per minute per user (0: off)',
    ),
  },
  corsOrigins: setting(
    'TR_CORS_ORIGINS',
    list(isOrigin, 'comma-separated origins such as https://tickets.example.com'),
    [],
    'Comma-separated browser origins allowed cross-origin (empty: CORS off)',
  ),
  trustProxy: setting(
    'TR_TRUST_PROXY',
    list((v) => isIP(v.split('/')[0] ?? '') !== 0, 'comma-separated proxy addresses or CIDR ranges'),
    [],
    'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For gives the client address',
  ),
};

type Env = Record<string, string | undefined>;
type Branch = { [key: string]: Setting<unknown> | Branch };

const isSetting = (node: Setting<unknown> | Branch): node is Setting<unknown> =>
  typeof (node as Setting<unknown>).name === 'string' && 'parser' in node;

function read<T>({ name, parser, fallback }: Setting<T>, env: Env): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = parser.parse(raw);
  if (value === undefined)
    throw new ConfigError(name, parser.expected, parser.shown ? parser.shown(raw) : raw);
  return value;
}

function readBranch(branch: Branch, env: Env): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(branch))
    values[key] = isSetting(node) ? read(node, env) : readBranch(node, env);
  return values;
}

function* walk(branch: Branch): Generator<Setting<unknown>> {
  for (const node of Object.values(branch)) {
    if (isSetting(node)) yield node;
    else yield* walk(node);
  }
}

export function loadConfig(env: Env = process.env): Config {
  const config = readBranch(table as unknown as Branch, env) as unknown as Config;
  // Demo data belongs to the embedded default: a server database is seeded on start only when asked.
  if (!env.TR_SEED_ON_START) config.seedOnStart = config.db.startsWith('sqlite:');
  const { minPerSecond, maxPerSecond } = config.admission;
  if (maxPerSecond < minPerSecond)
    throw new ConfigError(
      'TR_ADMIT_MAX_PER_SECOND',
      `at least TR_ADMIT_MIN_PER_SECOND (${minPerSecond})`,
      String(maxPerSecond),
    );
  const { min, max } = config.dbPool;
  if (min !== 'max' && min > max)
    throw new ConfigError('TR_DB_POOL_MIN', `at most TR_DB_POOL_MAX (${max}), or max`, String(min));
  checkIdentity(config.identity);
  config.internal.port = resolveInternalPort(config.internal.port, config.db);
  return config;
}

/**
 * Metrics and readiness are for operators: off the public port except in the embedded demo (TR_DB unset),
 * where one port is all a newcomer should need.
 */
function resolveInternalPort(port: InternalPort, db: string): InternalPort {
  if (port !== 'auto') return port;
  return db === table.db.fallback ? 'main' : DEFAULT_INTERNAL_PORT;
}

/** jwt mode needs exactly one verification key, an issuer and an audience. */
function checkIdentity(identity: Config['identity']): void {
  if (identity.mode === 'none') return;
  const keys = [identity.secret.reveal(), identity.publicKeyPem, identity.jwksUrl].filter((v) => v !== '');
  if (keys.length !== 1)
    throw new ConfigError(
      'TR_IDENTITY',
      `exactly one verification key with jwt (TR_JWT_SECRET, TR_JWT_PUBLIC_KEY or TR_JWT_JWKS_URL; ${keys.length} set)`,
      identity.mode,
    );
  if (identity.issuer === '')
    throw new ConfigError(
      'TR_JWT_ISSUER',
      'the `iss` your login service signs (required with jwt)',
      undefined,
    );
  if (identity.audience === '')
    throw new ConfigError(
      'TR_JWT_AUDIENCE',
      'the `aud` your login service signs for this API (required with jwt)',
      undefined,
    );
}

/** Every setting as `ticketrush --help` and the README list it: name, default as text, meaning. */
export const settings: ReadonlyArray<{ name: string; fallback: string; description: string }> = [
  ...walk(table as unknown as Branch),
].map(({ name, fallback, description }) => ({ name, fallback: String(fallback), description }));
