// Database write throughput of holds and payments on each dialect, against a bare INSERT baseline
// at the same concurrency in the same run. Usage: node bench/booking-writes.ts [count] [concurrency]
import { sql } from 'kysely';
import { newId } from '../src/domain/ids.ts';
import { serverAvailable } from '../test/support/backends.ts';
import { bookingOn } from '../test/support/booking.ts';
import { createTestDatabase, DIALECTS } from '../test/support/databases.ts';

const count = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 32);

async function timed(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await op(next++);
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

console.log(`booking writes: ${count} operations each, ${concurrency} in flight`);
console.log('dialect   baseline ins/s   holds/s (ratio)   payments/s (ratio)');
for (const dialect of DIALECTS) {
  if (
    dialect !== 'sqlite' &&
    !(await serverAvailable(dialect === 'postgres' ? 'postgres' : 'mysql').catch(() => false))
  ) {
    console.log(`${dialect.padEnd(9)} skipped: server not reachable`);
    continue;
  }
  const t = await createTestDatabase(dialect, { max: 10, acquireTimeoutMs: 30_000 });
  try {
    const b = await bookingOn(t.database);
    await sql`create table bench_baseline (id varchar(36) primary key, n integer not null)`.execute(
      t.database.db,
    );
    const baseline = await timed(count, (i) =>
      sql`insert into bench_baseline (id, n) values (${newId()}, ${i})`.execute(t.database.db),
    );
    const seats = (i: number) => ({
      userId: (i % 20) + 1,
      scheduleId: 1 + Math.floor(i / 100),
      seatId: (i % 100) + 1,
    });
    const held: { id: string; userId: number }[] = [];
    const holds = await timed(count, async (i) => {
      const r = await b.reservations.hold(seats(i));
      held.push({ id: r.id, userId: r.userId });
    });
    for (let u = 1; u <= 20; u++) await b.points.charge(u, 1_000_000);
    for (let u = 1; u <= 20; u++)
      for (let k = 0; k < Math.ceil(count / 20 / 5); k++) await b.points.charge(u, 1_000_000);
    const payments = await timed(held.length, (i) => b.payments.pay(held[i].userId, held[i].id));
    const ratio = (x: number) => `${(x / baseline).toFixed(2)}x`;
    console.log(
      `${dialect.padEnd(9)} ${baseline.toFixed(0).padStart(14)}   ${holds.toFixed(0).padStart(7)} (${ratio(holds)})   ${payments.toFixed(0).padStart(10)} (${ratio(payments)})`,
    );
  } finally {
    await t.drop();
  }
}
