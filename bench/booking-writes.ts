// Database write throughput of holds and payments on each dialect, against a bare single-row INSERT
// at the same pool size and concurrency, measured round by round in the same run, after a warm-up.
// Also counts client round trips per operation (statements sent, BEGIN/COMMIT included). Holds are measured
// twice: bare, and under an Idempotency-Key as the web checkout sends them (the key's claim is one more trip).
// "Lost races" are holds of seats already held, each answered SEAT_ALREADY_RESERVED: an on-sale's crowd makes many.
// When the database server runs on this machine, the CPU its connections spent per operation is printed too
// (from /proc/<pid or thread id>/schedstat of this database's backends or threads).
// Usage: node bench/booking-writes.ts [count] [concurrency] [rounds] [dialects, e.g. postgres,mysql]
import { sql } from 'kysely';
import mysql from 'mysql2';
import pg from 'pg';
import { prepared } from '../src/db/prepared-statements.ts';
import { seedDemoData } from '../src/db/seed.ts';
import { retryStats } from '../src/db/transaction.ts';
import type { Reservation } from '../src/domain/booking/model.ts';
import type { Seal } from '../src/domain/idempotency.ts';
import { newId } from '../src/domain/ids.ts';
import { serverAvailable } from '../test/support/backends.ts';
import { bookingOn, MAX_HOLDS_PER_USER } from '../test/support/booking.ts';
import { createTestDatabase, DIALECTS } from '../test/support/databases.ts';
import { median } from './rounds.ts';
import { type ServerClock, serverClockOf, serverMicrosPer } from './server-clock.ts';

const count = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 32);
const rounds = Number(process.argv[4] ?? 5);
const only = process.argv[5]?.split(',');
const pool = { max: 10, acquireTimeoutMs: 30_000 };
const seatsPerSchedule = 100;
// A round holds 2 x count seats before it pays for them. By default each user holds as many as the product's
// limit lets one user hold at once (TR_MAX_HOLDS_PER_USER, 4), as in a sale: the hold limit's count then visits
// at most that many live holds. BENCH_USERS=20 is the older crowd of a few users holding every seat (each
// with up to 2 x count / 20 live holds, the limit lifted), which weighs the count far beyond what a real user can.
const users = Number(process.env.BENCH_USERS ?? Math.ceil((2 * count) / MAX_HOLDS_PER_USER));
const maxHoldsPerUser = users * MAX_HOLDS_PER_USER >= 2 * count ? MAX_HOLDS_PER_USER : 1_000_000;

let roundTrips = 0;
// Statements sent behind one Sync (PreparingPgClient) are one query of pg's client: one round trip.
for (const proto of [pg.Client.prototype, mysql.Connection.prototype] as {
  query: (...args: unknown[]) => unknown;
}[]) {
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    roundTrips++;
    return query.apply(this, args);
  };
}
// A marked statement goes out through execute (a server-side prepared statement): one round trip too.
const mysqlConnection = mysql.Connection.prototype as unknown as { execute: (...args: unknown[]) => unknown };
const execute = mysqlConnection.execute;
mysqlConnection.execute = function (this: unknown, ...args: unknown[]) {
  roundTrips++;
  return execute.apply(this, args);
};

interface Measured {
  perSecond: number;
  roundTrips: number;
  /** This process's CPU time per operation (driver, query building, domain code). */
  cpuMicros: number;
  /** The database server's CPU time per operation in this database's connections; NaN when not readable. */
  serverMicros: number;
}

async function timed(
  n: number,
  serverClock: ServerClock,
  op: (i: number) => Promise<unknown>,
): Promise<Measured> {
  let next = 0;
  const serverBefore = await serverClock();
  const tripsBefore = roundTrips;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await op(next++);
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const perSecond = n / ((performance.now() - started) / 1000);
  const trips = (roundTrips - tripsBefore) / n;
  const serverAfter = await serverClock();
  return {
    perSecond,
    roundTrips: trips,
    cpuMicros: (cpu.user + cpu.system) / n,
    serverMicros: serverMicrosPer(serverBefore, serverAfter, n),
  };
}

const fixed = (x: number, width: number, digits = 0) => x.toFixed(digits).padStart(width);

console.log(
  `booking writes: ${count} operations per phase, ${concurrency} in flight, pool ${pool.max}, ` +
    `${rounds} rounds after a warm-up, ${users} users holding at most ` +
    `${maxHoldsPerUser === MAX_HOLDS_PER_USER ? MAX_HOLDS_PER_USER : Math.ceil((2 * count) / users)} seats each; ` +
    'round trips are per operation (pg and mysql2 only)',
);
for (const dialect of DIALECTS.filter((d) => !only || only.includes(d))) {
  if (
    dialect !== 'sqlite' &&
    !(await serverAvailable(dialect === 'postgres' ? 'postgres' : 'mysql').catch(() => false))
  ) {
    console.log(`${dialect}: skipped, server not reachable`);
    continue;
  }
  const t = await createTestDatabase(dialect, pool);
  try {
    const warmUp = Math.max(100, Math.floor(count / 10));
    const schedulesPerRound = 2 * Math.ceil(count / seatsPerSchedule);
    await seedDemoData(t.database.db, {
      users,
      schedules: 1 + 2 * Math.ceil(warmUp / seatsPerSchedule) + schedulesPerRound * rounds,
      schedulesPerConcert: 50,
      seatsPerSchedule,
    });
    const b = await bookingOn(t.database, { maxHoldsPerUser });
    await sql`create table bench_baseline (id varchar(36) primary key, n integer not null)`.execute(
      t.database.db,
    );
    let firstSchedule = 1;
    const serverClock = serverClockOf(dialect, t.database.db);

    // The baseline brackets the booking phases (half before, half after), so drift on this shared machine
    // weighs on both sides of the ratio alike.
    const round = async (n: number) => {
      const schedule0 = firstSchedule;
      const keyedSchedule0 = schedule0 + Math.ceil(n / seatsPerSchedule);
      firstSchedule += 2 * Math.ceil(n / seatsPerSchedule);
      const baseline = (k: number) =>
        timed(k, serverClock, (i) =>
          // Marked like the booking statements, so both sides of the ratio get the same driver help.
          prepared(
            'bench_baseline',
            sql`insert into bench_baseline (id, n) values (${newId()}, ${i})`,
          ).execute(t.database.db),
        );
      const before = await baseline(Math.floor(n / 2));
      const held: { id: string; userId: number; price: number }[] = [];
      const holds = await timed(n, serverClock, async (i) => {
        const r = await b.reservations.hold({
          userId: (i % users) + 1,
          scheduleId: schedule0 + Math.floor(i / seatsPerSchedule),
          seatId: (i % seatsPerSchedule) + 1,
        });
        held.push({ id: r.id, userId: r.userId, price: r.price });
      });
      // A crowd losing races: holds of seats the phase above just held, each answered SEAT_ALREADY_RESERVED.
      const lost = await timed(n, serverClock, async (i) => {
        const attempt = b.reservations.hold({
          userId: ((i + 1) % users) + 1,
          scheduleId: schedule0 + Math.floor(i / seatsPerSchedule),
          seatId: (i % seatsPerSchedule) + 1,
        });
        await attempt.then(
          () => {
            throw new Error('a taken seat was held twice');
          },
          (err: { code?: string }) => {
            if (err.code !== 'SEAT_ALREADY_RESERVED') throw err;
          },
        );
      });
      const keyedHolds = await timed(n, serverClock, async (i) => {
        const userId = (i % users) + 1;
        const req = {
          userId,
          scheduleId: keyedSchedule0 + Math.floor(i / seatsPerSchedule),
          seatId: (i % seatsPerSchedule) + 1,
        };
        const { outcome } = await b.idempotency.run(
          { scope: `hold:${userId}`, key: newId(), requestHash: JSON.stringify(req) },
          (seal: Seal<Reservation>) => b.reservations.hold(req, seal),
          // As the hold route runs it: the hold claims its key in its own round trip.
          { claimInWork: true },
        );
        if (!outcome.ok) throw new Error(outcome.error.code);
        const r = outcome.value as Reservation;
        held.push({ id: r.id, userId: r.userId, price: r.price });
      });
      const owed = new Map<number, number>();
      for (const h of held) owed.set(h.userId, (owed.get(h.userId) ?? 0) + h.price);
      for (const [userId, amount] of owed) {
        for (let left = amount; left > 0; left -= 1_000_000)
          await b.points.charge(userId, Math.min(left, 1_000_000));
      }
      const payments = await timed(held.length, serverClock, (i) =>
        b.payments.pay(held[i].userId, held[i].id),
      );
      const after = await baseline(n - Math.floor(n / 2));
      const seconds = Math.floor(n / 2) / before.perSecond + (n - Math.floor(n / 2)) / after.perSecond;
      return {
        baseline: n / seconds,
        baselineCpu: (before.cpuMicros + after.cpuMicros) / 2,
        baselineServer: (before.serverMicros + after.serverMicros) / 2,
        holds,
        lost,
        keyedHolds,
        payments,
      };
    };

    await round(warmUp);
    const retriesBefore = retryStats.retries;
    console.log(`\n${dialect}`);
    console.log(
      'round   bare ins/s   holds/s  ratio  trips  keyed holds/s  ratio  trips   payments/s  ratio  trips' +
        '   lost races/s  ratio  trips   client cpu us/op: bare hold keyed pay lost' +
        '   server cpu us/op: bare hold keyed pay lost',
    );
    const holdRatios: number[] = [];
    const keyedRatios: number[] = [];
    const paymentRatios: number[] = [];
    const lostRatios: number[] = [];
    for (let k = 1; k <= rounds; k++) {
      const { baseline, baselineCpu, baselineServer, holds, lost, keyedHolds, payments } = await round(count);
      const h = holds.perSecond / baseline;
      const kh = keyedHolds.perSecond / baseline;
      keyedRatios.push(kh);
      const p = payments.perSecond / baseline;
      holdRatios.push(h);
      paymentRatios.push(p);
      const l = lost.perSecond / baseline;
      lostRatios.push(l);
      const trips = (m: Measured) => (dialect === 'sqlite' ? '    -' : fixed(m.roundTrips, 5, 1));
      console.log(
        `${String(k).padStart(5)} ${fixed(baseline, 12)} ${fixed(holds.perSecond, 9)} ${fixed(h, 5, 2)}x` +
          ` ${trips(holds)} ${fixed(keyedHolds.perSecond, 14)} ${fixed(kh, 5, 2)}x ${trips(keyedHolds)}` +
          ` ${fixed(payments.perSecond, 12)} ${fixed(p, 5, 2)}x ${trips(payments)}` +
          ` ${fixed(lost.perSecond, 14)} ${fixed(l, 5, 2)}x ${trips(lost)}` +
          ` ${fixed(baselineCpu, 26)} ${fixed(holds.cpuMicros, 4)} ${fixed(keyedHolds.cpuMicros, 5)}` +
          ` ${fixed(payments.cpuMicros, 4)} ${fixed(lost.cpuMicros, 4)} ${fixed(baselineServer, 22)}` +
          ` ${fixed(holds.serverMicros, 4)} ${fixed(keyedHolds.serverMicros, 5)} ${fixed(payments.serverMicros, 4)}` +
          ` ${fixed(lost.serverMicros, 4)}`,
      );
    }
    console.log(`conflict retries: ${retryStats.retries - retriesBefore}`);
    console.log(
      `median of rounds: hold ${median(holdRatios).toFixed(2)}x, keyed hold ${median(keyedRatios).toFixed(2)}x, ` +
        `payment ${median(paymentRatios).toFixed(2)}x, lost race ${median(lostRatios).toFixed(2)}x of a bare insert`,
    );
  } finally {
    await t.drop();
  }
}
