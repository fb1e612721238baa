// MariaDB's hold taken apart. The hold procedure (migration 0013) as the database holds it, and copies of it
// with one part left out each, are called in turn against a bare single-row INSERT, round by round in the same
// run, after a warm-up. Printed per variant: holds per second as a ratio of bare inserts per second, and
// MariaDB's CPU per call (from /proc, when the server runs on this machine). It shows what each part of a hold
// costs the server, and what a hold without its limit check would reach.
// The limit check is the update of the user's bound of live holds (which is also the user's lock); the exact
// count behind it runs only for a user whose bound reached the limit, which no user here does.
// Every call must write its hold (distinct seats, users under the limit): a round that wrote fewer rows fails.
// Usage: node bench/hold-parts.ts [count] [rounds]
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import { seedDemoData } from '../src/db/seed.ts';
import { newId } from '../src/domain/ids.ts';
import { serverAvailable } from '../test/support/backends.ts';
import { MAX_HOLDS_PER_USER } from '../test/support/booking.ts';
import { createTestDatabase } from '../test/support/databases.ts';
import { median } from './rounds.ts';
import { serverClockOf, serverMicrosPer } from './server-clock.ts';

const count = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
const concurrency = 32;
const seatsPerSchedule = 100;
const PROCEDURE = 'hold_free_seat_within_limit_2';

/** A part of the procedure's body, found by its pattern (exactly once), and what replaces it when left out. */
interface Part {
  pattern: RegExp;
  without: string;
}
const PARTS = {
  limit: {
    pattern: /update \w+ set hold_bound = \(@tr_hold_bound[^;]*;/g,
    without: 'set @tr_hold_bound = 0;',
  },
  reservation: { pattern: /insert into reservations[^;]*;/g, without: '' },
  event: { pattern: /insert into outbox[^;]*;/g, without: '' },
} satisfies Record<string, Part>;

const VARIANTS: { name: string; leaveOut: (keyof typeof PARTS)[] }[] = [
  { name: 'whole hold', leaveOut: [] },
  { name: 'no limit check (the bound)', leaveOut: ['limit'] },
  { name: 'no reservation row', leaveOut: ['reservation'] },
  { name: 'no event row', leaveOut: ['event'] },
  // Two statements fewer: how far a hold of two row writes (the claim and the event) would go.
  { name: 'no limit check, no reservation row', leaveOut: ['limit', 'reservation'] },
];

function variantBody(body: string, name: string, leaveOut: (keyof typeof PARTS)[]): string {
  let text = body.replace(/^create\s.*?procedure\s+`?\w+`?/is, `create procedure ${name}`);
  for (const part of leaveOut) {
    const { pattern, without } = PARTS[part];
    const found = text.match(pattern)?.length ?? 0;
    if (found !== 1)
      throw new Error(`${PROCEDURE}: expected its ${part} statement once, found it ${found} times`);
    text = text.replace(pattern, without);
  }
  return text;
}

if (!(await serverAvailable('mysql').catch(() => false))) {
  console.log('bench:hold-parts: MariaDB not reachable, nothing measured');
  process.exit(process.env.CI === 'true' ? 1 : 0);
}
const t = await createTestDatabase('mysql', { max: 10, acquireTimeoutMs: 30_000 });
try {
  const usersPerPhase = Math.ceil(count / MAX_HOLDS_PER_USER);
  const phases = VARIANTS.length * (rounds + 1);
  const schedulesPerPhase = Math.ceil(count / seatsPerSchedule);
  console.log(
    `bench:hold-parts: ${count} holds per variant and round, ${concurrency} in flight, pool 10, ${rounds} rounds ` +
      `after a warm-up; ${MAX_HOLDS_PER_USER} holds per user (each under the limit); seeding…`,
  );
  await seedDemoData(t.database.db, {
    users: usersPerPhase * phases,
    schedules: schedulesPerPhase * phases,
    schedulesPerConcert: 50,
    seatsPerSchedule,
  });
  const u = new URL(t.url);
  const pool = mysql.createPool({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    connectionLimit: 10,
  });
  try {
    const [created] = await pool.query(`show create procedure ${PROCEDURE}`);
    const body = (created as Record<string, string>[])[0]?.['Create Procedure'];
    if (!body) throw new Error(`${PROCEDURE}: no procedure (is the user allowed to read it?)`);
    const procedures = VARIANTS.map((v, i) => ({ ...v, procedure: `bench_hold_${i}` }));
    for (const v of procedures) await pool.query(variantBody(body, v.procedure, v.leaveOut));
    await pool.query('create table bench_baseline (id varchar(36) primary key, n integer not null)');

    const serverClock = serverClockOf('mysql', t.database.db);
    const claims = async () =>
      Number(
        (await sql<{ n: number }>`select count(*) as n from seat_claims`.execute(t.database.db)).rows[0].n,
      );
    const timed = async (n: number, op: (i: number) => Promise<unknown>) => {
      let next = 0;
      const before = await serverClock();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) await op(next++);
        }),
      );
      const perSecond = n / ((performance.now() - started) / 1000);
      return { perSecond, serverMicros: serverMicrosPer(before, await serverClock(), n) };
    };
    const bare = (n: number) =>
      timed(n, (i) => pool.execute('insert into bench_baseline (id, n) values (?, ?)', [newId(), i]));

    let phase = 0;
    /** One variant's phase: fresh users and fresh schedules, every hold written. */
    const holds = async (procedure: string) => {
      const firstUser = phase * usersPerPhase + 1;
      const firstSchedule = phase * schedulesPerPhase + 1;
      phase++;
      const call = `call ${procedure}(${Array(33).fill('?').join(', ')})`;
      const before = await claims();
      const measured = await timed(count, (i) => {
        const userId = firstUser + (i % usersPerPhase);
        const scheduleId = firstSchedule + Math.floor(i / seatsPerSchedule);
        const seatId = (i % seatsPerSchedule) + 1;
        const id = newId();
        const now = Date.now();
        const expiresAt = now + 300_000;
        const payload = JSON.stringify({ reservationId: id, userId, scheduleId, seatId, price: 100 });
        // As holdByProcedure passes them: the hold's inputs (no key), then the claim's, reservation's and event's rows.
        // biome-ignore format: one line per row
        return pool.execute(call, [
          userId, now, MAX_HOLDS_PER_USER, 0, '', '', 0, '', 0, '', null, 0,
          scheduleId, seatId, id, userId, 'HELD', expiresAt,
          id, userId, scheduleId, seatId, 'HELD', 100, now, expiresAt, now,
          newId(), id, 'reservation.held', payload, now, null,
        ]);
      });
      const written = (await claims()) - before;
      if (written !== count) throw new Error(`${procedure}: ${written} of ${count} holds written`);
      return measured;
    };

    for (const v of procedures) await holds(v.procedure);
    await bare(count);
    const ratios = procedures.map(() => [] as number[]);
    const micros = procedures.map(() => [] as number[]);
    const bareMicros: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      const order = r % 2 ? procedures : [...procedures].reverse();
      const first = await bare(Math.floor(count / 2));
      const measured = new Map<string, { perSecond: number; serverMicros: number }>();
      for (const v of order) measured.set(v.procedure, await holds(v.procedure));
      const last = await bare(count - Math.floor(count / 2));
      const baseline =
        count / (Math.floor(count / 2) / first.perSecond + (count - Math.floor(count / 2)) / last.perSecond);
      bareMicros.push((first.serverMicros + last.serverMicros) / 2);
      const cells = procedures.map((v, i) => {
        const m = measured.get(v.procedure) as { perSecond: number; serverMicros: number };
        ratios[i].push(m.perSecond / baseline);
        micros[i].push(m.serverMicros);
        return `${v.name} ${(m.perSecond / baseline).toFixed(2)}x ${m.serverMicros.toFixed(0)} µs`;
      });
      console.log(
        `round ${r}: bare ${baseline.toFixed(0)}/s ${bareMicros.at(-1)?.toFixed(0)} µs | ${cells.join(' | ')}`,
      );
    }
    console.log('\nmedian of rounds (ratio of bare inserts per second; MariaDB CPU per call):');
    console.log(`  ${'bare insert'.padEnd(30)} 1.00x ${median(bareMicros).toFixed(0).padStart(4)} µs`);
    procedures.forEach((v, i) => {
      console.log(
        `  ${v.name.padEnd(30)} ${median(ratios[i]).toFixed(2)}x ${median(micros[i]).toFixed(0).padStart(4)} µs`,
      );
    });
  } finally {
    await pool.end();
  }
} finally {
  await t.drop();
}
