import { bookingServices } from '../../src/compose.ts';
import type { Database } from '../../src/db/database.ts';
import { seedDemoData } from '../../src/db/seed.ts';
import { ManualClock } from '../../src/domain/clock.ts';

export const HOLD_TTL_SECONDS = 300;
export const MAX_HOLDS_PER_USER = 4;

/** The booking services on a real database, with a clock the test moves. */
export async function bookingOn(
  database: Database,
  opts: { afterPaid?: (userId: number) => Promise<void> | void; maxHoldsPerUser?: number } = {},
) {
  await seedDemoData(database.db, {
    users: 100,
    schedules: 300,
    schedulesPerConcert: 50,
    seatsPerSchedule: 100,
  });
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 12));
  const paidUsers: number[] = [];
  const hookFailures: Array<{ err: unknown; userId: number }> = [];
  const services = bookingServices({
    database,
    clock,
    holdTtlSeconds: HOLD_TTL_SECONDS,
    maxHoldsPerUser: opts.maxHoldsPerUser ?? MAX_HOLDS_PER_USER,
    afterPaid: async (u) => {
      await opts.afterPaid?.(u);
      paidUsers.push(u);
    },
    afterPaidFailed: (err, userId) => void hookFailures.push({ err, userId }),
  });
  return { clock, store: services.bookingStore, paidUsers, hookFailures, ...services };
}
