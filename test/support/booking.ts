import { bookingServices } from '../../src/compose.ts';
import type { Database } from '../../src/db/database.ts';
import { seedDemoData } from '../../src/db/seed.ts';
import { ManualClock } from '../../src/domain/clock.ts';

export const HOLD_TTL_SECONDS = 300;

/** The booking services on a real database, with a clock the test moves. */
export async function bookingOn(database: Database) {
  await seedDemoData(database.db, {
    users: 20,
    schedules: 300,
    schedulesPerConcert: 50,
    seatsPerSchedule: 100,
  });
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 12));
  const paidUsers: number[] = [];
  const services = bookingServices({
    database,
    clock,
    holdTtlSeconds: HOLD_TTL_SECONDS,
    afterPaid: (u) => void paidUsers.push(u),
  });
  return { clock, store: services.bookingStore, paidUsers, ...services };
}
