import type { WaitingRoomSettings } from './domain/waiting-room.ts';

/** The environment, validated once at start-up; a bad value stops start-up with a one-line message naming it. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string, got: string | undefined) {
    super(`${variable}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  host: string;
  port: number;
  db: string;
  queue: string;
  /** Names the waiting room inside Redis (its hash tag), so several deployments or tests can share one server. */
  queueName: string;
  events: string;
  logLevel: string;
  seedOnStart: boolean;
  demo: {
    users: number;
    schedules: number;
    schedulesPerConcert: number;
    seatsPerSchedule: number;
    startingPoints: number;
  };
  queueSettings: WaitingRoomSettings;
  holdTtlSeconds: number;
  workers: number;
  http: {
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    connectionTimeoutMs: number;
    maxConnections: number;
  };
  dbPool: { max: number; acquireTimeoutMs: number };
  /** Bounds beyond which requests get 503 OVERLOADED at once; 0 switches a bound off (heap: 0 is 90% of the V8 limit). */
  overload: { maxEventLoopDelayMs: number; maxHeapMb: number; maxPoolWaiting: number };
  /** The admission rate adapts between min and max from the booking path's health, unless adaptive is off. */
  admission: {
    adaptive: boolean;
    minPerSecond: number;
    maxPerSecond: number;
    targetP95Ms: number;
    maxErrorPercent: number;
  };
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, 'true or false', raw);
}

function oneOf(
  env: Env,
  name: string,
  fallback: string,
  test: (v: string) => boolean,
  expected: string,
): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!test(raw)) throw new ConfigError(name, expected, raw);
  return raw;
}

const urlWith = (schemes: string[]) => (v: string) => {
  try {
    return schemes.includes(new URL(v).protocol);
  } catch {
    return false;
  }
};

export function loadConfig(env: Env = process.env): Config {
  return {
    host: oneOf(env, 'HOST', '127.0.0.1', (v) => /^[\w.:-]+$/.test(v), 'a host name or IP address'),
    port: int(env, 'PORT', 3000, 0, 65535),
    db: oneOf(
      env,
      'TR_DB',
      'sqlite:data/ticketrush.db',
      (v) => /^sqlite:.+/.test(v) || urlWith(['postgres:', 'postgresql:', 'mysql:', 'mariadb:'])(v),
      'sqlite:<path>, postgres://user@host:port/db or mysql://user@host:port/db',
    ),
    queue: oneOf(
      env,
      'TR_QUEUE',
      'memory',
      (v) => v === 'memory' || urlWith(['redis:', 'rediss:'])(v),
      'memory or redis://host:port',
    ),
    queueName: oneOf(
      env,
      'TR_QUEUE_NAME',
      'q',
      (v) => /^[A-Za-z0-9_.-]{1,64}$/.test(v),
      '1 to 64 letters, digits, _ . or -',
    ),
    events: oneOf(
      env,
      'TR_EVENTS',
      'inprocess',
      (v) => v === 'inprocess' || urlWith(['nats:'])(v),
      'inprocess or nats://host:port',
    ),
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      'info',
      (v) => ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v),
      'one of fatal, error, warn, info, debug, trace, silent',
    ),
    seedOnStart: bool(env, 'TR_SEED_ON_START', true),
    demo: {
      users: int(env, 'TR_DEMO_USERS', 100_000, 1, 10_000_000),
      schedules: int(env, 'TR_DEMO_SCHEDULES', 99_999, 1, 10_000_000),
      schedulesPerConcert: int(env, 'TR_DEMO_SCHEDULES_PER_CONCERT', 50, 1, 100_000),
      seatsPerSchedule: int(env, 'TR_DEMO_SEATS', 100, 1, 10_000),
      startingPoints: int(env, 'TR_DEMO_POINTS', 1_000_000, 0, 1_000_000_000),
    },
    queueSettings: {
      admitPerSecond: int(env, 'TR_ADMIT_PER_SECOND', 200, 1, 1_000_000),
      maxActive: int(env, 'TR_MAX_ACTIVE', 2000, 1, 10_000_000),
      activeTtlSeconds: int(env, 'TR_ACTIVE_TTL_SECONDS', 300, 1, 86_400),
      tokenGraceSeconds: int(env, 'TR_TOKEN_GRACE_SECONDS', 30, 0, 3600),
      idleTimeoutSeconds: int(env, 'TR_IDLE_TIMEOUT_SECONDS', 30, 5, 3600),
    },
    holdTtlSeconds: int(env, 'TR_HOLD_TTL_SECONDS', 300, 1, 86_400),
    workers: int(env, 'TR_WORKERS', 1, 1, 64),
    http: {
      requestTimeoutMs: int(env, 'TR_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
      keepAliveTimeoutMs: int(env, 'TR_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1000, 600_000),
      connectionTimeoutMs: int(env, 'TR_CONNECTION_TIMEOUT_MS', 15_000, 100, 600_000),
      maxConnections: int(env, 'TR_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    },
    dbPool: {
      max: int(env, 'TR_DB_POOL_MAX', 10, 1, 1000),
      acquireTimeoutMs: int(env, 'TR_DB_ACQUIRE_TIMEOUT_MS', 2000, 10, 120_000),
    },
    overload: {
      maxEventLoopDelayMs: int(env, 'TR_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 250, 0, 60_000),
      maxHeapMb: int(env, 'TR_OVERLOAD_MAX_HEAP_MB', 0, 0, 1_000_000),
      maxPoolWaiting: int(env, 'TR_OVERLOAD_MAX_POOL_WAITING', 100, 0, 1_000_000),
    },
    admission: admissionSettings(env),
  };
}

function admissionSettings(env: Env): Config['admission'] {
  const minPerSecond = int(env, 'TR_ADMIT_MIN_PER_SECOND', 20, 1, 1_000_000);
  const maxPerSecond = int(env, 'TR_ADMIT_MAX_PER_SECOND', 2000, 1, 1_000_000);
  if (maxPerSecond < minPerSecond)
    throw new ConfigError(
      'TR_ADMIT_MAX_PER_SECOND',
      `at least TR_ADMIT_MIN_PER_SECOND (${minPerSecond})`,
      String(maxPerSecond),
    );
  return {
    adaptive: bool(env, 'TR_ADMIT_ADAPTIVE', true),
    minPerSecond,
    maxPerSecond,
    targetP95Ms: int(env, 'TR_ADMIT_TARGET_P95_MS', 500, 10, 60_000),
    maxErrorPercent: int(env, 'TR_ADMIT_MAX_ERROR_PERCENT', 5, 0, 100),
  };
}

/** Describes every setting for the README and `ticketrush --help`. */
export const settings: Array<[name: string, fallback: string, meaning: string]> = [
  ['HOST', '127.0.0.1', 'Address the API listens on'],
  ['PORT', '3000', 'Port the API listens on (0 picks a free one)'],
  ['TR_DB', 'sqlite:data/ticketrush.db', 'Database URL: sqlite:<path>, postgres://... or mysql://...'],
  ['TR_QUEUE', 'memory', 'Waiting-room store: memory (one process) or redis://host:port'],
  [
    'TR_QUEUE_NAME',
    'q',
    'Name of the waiting room in Redis (its key hash tag); lets deployments share a server',
  ],
  ['TR_EVENTS', 'inprocess', 'Event bus for the outbox relay: inprocess or nats://host:port'],
  ['LOG_LEVEL', 'info', 'pino log level'],
  ['TR_SEED_ON_START', 'true', 'Migrate and fill demo data on `serve` when the database is empty'],
  ['TR_DEMO_USERS', '100000', 'Demo users 1..N'],
  ['TR_DEMO_SCHEDULES', '99999', 'Demo schedules 1..N'],
  ['TR_DEMO_SCHEDULES_PER_CONCERT', '50', 'Schedules per demo concert (schedule 1 is concert 1)'],
  ['TR_DEMO_SEATS', '100', 'Seats per schedule'],
  [
    'TR_DEMO_POINTS',
    '1000000',
    'Points each demo wallet starts with (one DEMO_GRANT ledger row each), so demo users can pay',
  ],
  ['TR_ADMIT_PER_SECOND', '200', 'Waiting-room admissions per second'],
  ['TR_MAX_ACTIVE', '2000', 'Most users admitted at once'],
  ['TR_ACTIVE_TTL_SECONDS', '300', 'How long an admitted key stays valid'],
  ['TR_TOKEN_GRACE_SECONDS', '30', 'How long a replaced key keeps working (second tab or device)'],
  [
    'TR_IDLE_TIMEOUT_SECONDS',
    '30',
    'Least time a waiting user may go without polling before losing the place',
  ],
  ['TR_HOLD_TTL_SECONDS', '300', 'How long a seat hold lasts before the seat is free again'],
  ['TR_WORKERS', '1', 'Server processes sharing the port (needs TR_QUEUE=redis://...)'],
  ['TR_REQUEST_TIMEOUT_MS', '10000', 'Longest time a request may take before the server gives up'],
  ['TR_KEEP_ALIVE_TIMEOUT_MS', '72000', 'Idle keep-alive connection timeout'],
  ['TR_CONNECTION_TIMEOUT_MS', '15000', 'Socket inactivity timeout'],
  ['TR_MAX_CONNECTIONS', '10000', 'Most open client connections'],
  ['TR_DB_POOL_MAX', '10', 'Database connections per process (PostgreSQL, MySQL)'],
  ['TR_DB_ACQUIRE_TIMEOUT_MS', '2000', 'Longest wait for a pooled connection before 503 BUSY'],
  [
    'TR_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS',
    '250',
    'Mean event-loop delay beyond which requests get 503 OVERLOADED (0: off)',
  ],
  [
    'TR_OVERLOAD_MAX_HEAP_MB',
    '0',
    'Heap used beyond which requests get 503 OVERLOADED (0: 90% of the V8 heap limit)',
  ],
  [
    'TR_OVERLOAD_MAX_POOL_WAITING',
    '100',
    'Requests waiting for a database connection beyond which new ones get 503 (0: off)',
  ],
  [
    'TR_ADMIT_ADAPTIVE',
    'true',
    'Adapt the admission rate to the booking path health; false keeps TR_ADMIT_PER_SECOND',
  ],
  ['TR_ADMIT_MIN_PER_SECOND', '20', 'Lowest adaptive admission rate'],
  ['TR_ADMIT_MAX_PER_SECOND', '2000', 'Highest adaptive admission rate'],
  ['TR_ADMIT_TARGET_P95_MS', '500', 'Booking-path p95 above which the admission rate is cut'],
  ['TR_ADMIT_MAX_ERROR_PERCENT', '5', 'Booking-path 5xx/503 share above which the admission rate is cut'],
];
