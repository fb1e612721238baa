import { seedDemoData } from '../src/db/seed.ts';
import { bookingOn } from '../test/support/booking.ts';
import { createTestDatabase } from '../test/support/databases.ts';

const dialect = process.argv[2] as 'postgres';
const t = await createTestDatabase(dialect, { max: 10, acquireTimeoutMs: 30000 });
await seedDemoData(t.database.db, {
  users: 20,
  schedules: 400,
  schedulesPerConcert: 50,
  seatsPerSchedule: 100,
});
const b = await bookingOn(t.database, { maxHoldsPerUser: 1_000_000 });
let next = 0;
const n = 20000;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (next < n) {
      const i = next++;
      await b.reservations.hold({
        userId: (i % 20) + 1,
        scheduleId: 1 + Math.floor(i / 100),
        seatId: (i % 100) + 1,
      });
    }
  }),
);
const c = process.cpuUsage(cpu0);
console.log(
  dialect,
  'holds/s',
  (n / ((performance.now() - t0) / 1000)).toFixed(0),
  'cpu us/op',
  ((c.user + c.system) / n).toFixed(0),
  'user',
  (c.user / n).toFixed(0),
  'sys',
  (c.system / n).toFixed(0),
);
await t.drop();
