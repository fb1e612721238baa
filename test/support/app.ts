import type { App } from '../../src/app.ts';
import { buildApp } from '../../src/app.ts';
import { type Composition, compose } from '../../src/compose.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { DialectName } from '../../src/db/database.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';

export interface TestApp {
  app: App;
  config: Config;
  clock: ManualClock;
  composition: Composition;
  testDb: TestDatabase;
  /** Headers of an admitted key for the user. */
  admit(userId: number): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** Small demo data: 3 concerts of 4 schedules, 10 seats each, 50 users. */
export const smallDemo = {
  // Admission is not under test here: admit at once and keep keys valid past any hold expiry a test waits for.
  TR_ADMIT_PER_SECOND: '1000000',
  TR_ACTIVE_TTL_SECONDS: '86400',
  TR_DEMO_USERS: '50',
  TR_DEMO_SCHEDULES: '12',
  TR_DEMO_SCHEDULES_PER_CONCERT: '4',
  TR_DEMO_SEATS: '10',
  TR_DEMO_POINTS: '0',
  // Every test database starts empty, on every dialect: fill it as the embedded default does.
  TR_SEED_ON_START: 'true',
  // Readiness and metrics answer through app.inject on the one app.
  TR_INTERNAL_PORT: 'main',
};

/** The whole app on a fresh database of its own, built by the same composition main.ts uses. */
export async function makeTestApp(
  dialect: DialectName = 'sqlite',
  env: Record<string, string> = {},
  /** Where the app reaches its database, e.g. through a TcpProxy; the database's own URL by default. */
  viaUrl: (url: string) => string = (url) => url,
): Promise<TestApp> {
  const testDb = await createTestDatabase(dialect);
  await testDb.database.close();
  const config = loadConfig({ ...smallDemo, ...env, TR_DB: viaUrl(testDb.url) });
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));
  const composition = await compose(config, { clock, prepareDatabase: true });
  const app = await buildApp({ config, services: composition.services });
  await app.ready();
  return {
    app,
    config,
    clock,
    composition,
    testDb,
    admit: async (userId) => {
      const room = composition.services.waitingRoom;
      const { accessKey } = await room.issueToken(userId);
      let ticket = await room.poll(userId, accessKey);
      // The first tick only starts the rate budget; 1 ms later it holds a thousand admissions.
      for (let i = 0; i < 5 && ticket.order !== 0; i++) {
        await room.tick();
        clock.advance(1);
        await room.tick();
        ticket = await room.poll(userId, accessKey);
      }
      if (ticket.order !== 0 || !accessKey)
        throw new Error(`user ${userId} was not admitted: ${JSON.stringify(ticket)}`);
      return { authorization: accessKey };
    },
    close: async () => {
      await app.close();
      await composition.close();
      await testDb.drop().catch(() => {});
    },
  };
}
