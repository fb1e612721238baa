import type { Database } from '../../src/db/database.ts';
import { salesRepository } from '../../src/db/sales-repository.ts';
import { seedDemoData } from '../../src/db/seed.ts';
import { AccessKeys } from '../../src/domain/access-key.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { QueueStoreSettings } from '../../src/domain/queue-store.ts';
import type { SaleSettings } from '../../src/domain/sales/model.ts';
import { SalesService } from '../../src/domain/sales/sales.ts';
import type { WaitingRoomSettings } from '../../src/domain/waiting-room.ts';

/** Settings of the sale rooms the sale contract tests build by hand (no server, no configuration). */
export const roomSettings: WaitingRoomSettings = {
  admitPerSecond: 1000,
  maxActive: 1000,
  activeTtlSeconds: 600,
  activeIdleSeconds: 60,
  tokenGraceSeconds: 30,
  idleTimeoutSeconds: 30,
};

export const storeSettings: QueueStoreSettings = {
  activeTtlMs: 600_000,
  tokenGraceMs: 30_000,
  activeIdleMs: 60_000,
};

export const saleDefaults: SaleSettings = {
  admitPerSecond: 1000,
  maxActive: 1000,
  minWindow: 1,
  maxWindow: 1000,
  overbook: 1.5,
  paused: false,
};

export const testActor = { id: null, name: 'test' };

/** One secret for every room the tests build by hand, as every process of a deployment shares one. */
export const accessKeys = new AccessKeys();

/** A sales service on a test database seeded with a small demo catalog, on a manual clock at the tests' start. */
export async function seededSales(
  database: Database,
  demo: { users: number; schedules: number; seatsPerSchedule: number },
): Promise<{ clock: ManualClock; sales: SalesService }> {
  await seedDemoData(database.db, { ...demo, schedulesPerConcert: demo.schedules });
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));
  return { clock, sales: new SalesService(salesRepository(database), clock, saleDefaults) };
}
