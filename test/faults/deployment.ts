import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import type { DialectName } from '../../src/db/database.ts';
import { type ServerProcess, spawnServer } from '../cluster/server-process.ts';
import { NatsServerProcess, natsServerBinary } from '../support/nats-server.ts';
import {
  binaries,
  mariadbKind,
  mariadbUrl,
  postgresKind,
  postgresUrl,
  redisKind,
  redisUrl,
} from '../support/private-backends.ts';
import { binariesInstalled, PrivateServer } from '../support/private-server.ts';

// `ticketrush serve` on dependencies of the test's own (a database, Redis, NATS), which it may stop and start.

export type ServerDialect = Exclude<DialectName, 'sqlite'>;

/** The seed's layout, small: schedule s belongs to concert ceil(s / 5). */
export const DEMO = { users: 2000, schedules: 40, schedulesPerConcert: 5, seats: 50 } as const;

export interface FaultDeployment {
  dialect: ServerDialect;
  database: PrivateServer;
  redis: PrivateServer;
  nats?: NatsServerProcess;
  /** The application database on the private server. */
  dbUrl: string;
  server: ServerProcess;
  close(): Promise<void>;
}

/** True when the binaries this deployment starts are installed; outside CI a missing one skips with a reason. */
export function deploymentInstalled(dialect: ServerDialect, withNats: boolean): boolean {
  const needed =
    dialect === 'postgres'
      ? [binaries.initdb, binaries.postgres]
      : [binaries.mariadbInstallDb, binaries.mariadbd];
  return binariesInstalled(`faults suite on ${dialect}`, [
    ...needed,
    binaries.redisServer,
    ...(withNats ? [natsServerBinary] : []),
  ]);
}

async function createApplicationDatabase(dialect: ServerDialect, port: number): Promise<string> {
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: postgresUrl(port) });
    await admin.connect();
    await admin.query('CREATE DATABASE ticketrush');
    await admin.end();
    return postgresUrl(port, 'ticketrush');
  }
  const admin = await createConnection({ host: '127.0.0.1', port, user: 'root' });
  await admin.query('CREATE DATABASE ticketrush');
  await admin.end();
  return mariadbUrl(port, 'ticketrush');
}

export async function deploy(opts: {
  dialect: ServerDialect;
  /** Redis with an append-only file, so its waiting room survives a restart. */
  persistentRedis: boolean;
  withNats: boolean;
}): Promise<FaultDeployment> {
  const database = new PrivateServer(opts.dialect === 'postgres' ? postgresKind : mariadbKind);
  const redis = new PrivateServer(redisKind(opts.persistentRedis));
  const nats = opts.withNats ? new NatsServerProcess() : undefined;
  let server: ServerProcess | undefined;
  const close = async () => {
    await server?.stop();
    await Promise.all([database.dispose(), redis.dispose(), nats?.dispose()]);
  };
  try {
    await Promise.all([database.start(), redis.start(), nats?.start()]);
    const dbUrl = await createApplicationDatabase(opts.dialect, database.port);
    server = await spawnServer(`ticketrush on ${opts.dialect}`, {
      TR_DB: dbUrl,
      TR_QUEUE: redisUrl(redis.port),
      ...(nats ? { TR_EVENTS: nats.url } : {}),
      LOG_LEVEL: 'warn',
      TR_DEMO_USERS: String(DEMO.users),
      TR_DEMO_SCHEDULES: String(DEMO.schedules),
      TR_DEMO_SCHEDULES_PER_CONCERT: String(DEMO.schedulesPerConcert),
      TR_DEMO_SEATS: String(DEMO.seats),
      TR_SEED_ON_START: 'true',
      // Admission is not under test: everyone is let in at once, so the load reaches every dependency.
      TR_ADMIT_PER_SECOND: '100000',
      TR_MAX_ACTIVE: '100000',
      TR_ADMIT_ADAPTIVE: 'false',
      // Outages, not overload, are under test: a stall on a busy machine must not shed requests.
      TR_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    return { dialect: opts.dialect, database, redis, nats, dbUrl, server, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
