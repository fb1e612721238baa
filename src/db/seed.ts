import { newId } from '../domain/ids.ts';
import type { Db } from './database.ts';

export interface DemoSize {
  users: number;
  schedules: number;
  schedulesPerConcert: number;
  seatsPerSchedule: number;
  /** Points each demo wallet starts with, granted by one ledger row so balance = ledger sum (default 0). */
  startingPoints?: number;
}

export type SeedProgress = (table: string, done: number, total: number) => void;

const BATCH = 1000;
const DAY = 86_400_000;
const FIRST_SHOW = Date.UTC(2027, 0, 1, 10, 0, 0);
const ARTISTS = [
  'IU',
  'BTS',
  'NewJeans',
  'SEVENTEEN',
  'BLACKPINK',
  'Stray Kids',
  'aespa',
  'Day6',
  'IVE',
  'TWICE',
];
const VENUES = ['KSPO Dome', 'Gocheok Sky Dome', 'Jamsil Olympic Stadium', 'Busan Asiad', 'Inspire Arena'];

export const concertOfSchedule = (scheduleId: number, perConcert: number): number =>
  Math.ceil(scheduleId / perConcert);

async function maxId(db: Db, table: 'users' | 'concerts' | 'schedules'): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

async function maxWallet(db: Db): Promise<number> {
  const row = await db
    .selectFrom('point_wallets')
    .select((eb) => eb.fn.max('user_id').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

/** Inserts rows from `from` to `to` in batches, each batch in its own transaction. */
async function fill<T>(
  db: Db,
  table: string,
  from: number,
  to: number,
  row: (id: number) => T,
  insert: (trx: Db, rows: T[]) => Promise<unknown>,
  progress?: SeedProgress,
): Promise<number> {
  let done = 0;
  const total = Math.max(0, to - from + 1);
  for (let start = from; start <= to; start += BATCH * 10) {
    const end = Math.min(to, start + BATCH * 10 - 1);
    await db.transaction().execute(async (trx) => {
      for (let s = start; s <= end; s += BATCH) {
        const rows: T[] = [];
        for (let id = s; id <= Math.min(end, s + BATCH - 1); id++) rows.push(row(id));
        await insert(trx, rows);
      }
    });
    done += end - start + 1;
    progress?.(table, done, total);
  }
  return total;
}

/**
 * Why demo data must not be added on start: the database holds users or concerts and the demo seed never
 * ran on it, so they came from elsewhere. Undefined when it is empty or its data is the seed's.
 */
export async function dataNotFromSeed(db: Db): Promise<string | undefined> {
  if (await db.selectFrom('demo_seed').select('id').executeTakeFirst()) return undefined;
  const user = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  const concert = await db.selectFrom('concerts').select('id').limit(1).executeTakeFirst();
  if (!user && !concert) return undefined;
  const held = [user && 'users', concert && 'concerts'].filter(Boolean).join(' and ');
  return `the database already holds ${held} that the demo seed did not write`;
}

/**
 * Fills the demo catalog: users 1..N with wallets of `startingPoints`, schedules 1..M grouped into concerts.
 * Only ids above what is already stored are inserted, so running it twice changes nothing.
 */
export async function seedDemoData(
  db: Db,
  size: DemoSize,
  progress?: SeedProgress,
): Promise<Record<string, number>> {
  const now = Date.now();
  const startingPoints = size.startingPoints ?? 0;
  const concerts = Math.ceil(size.schedules / size.schedulesPerConcert);
  const inserted: Record<string, number> = {};
  // Marked first, so a seed that stops half-way is finished by the next start.
  if (!(await db.selectFrom('demo_seed').select('id').executeTakeFirst()))
    await db.insertInto('demo_seed').values({ id: 1, seeded_at: now }).execute();

  inserted.concerts = await fill(
    db,
    'concerts',
    (await maxId(db, 'concerts')) + 1,
    concerts,
    (id) => ({
      id,
      title: `${ARTISTS[id % ARTISTS.length]} World Tour ${2027 + (id % 3)} #${id}`,
      artist: ARTISTS[id % ARTISTS.length],
      venue: VENUES[id % VENUES.length],
      created_at: now,
    }),
    (trx, rows) => trx.insertInto('concerts').values(rows).execute(),
    progress,
  );

  inserted.schedules = await fill(
    db,
    'schedules',
    (await maxId(db, 'schedules')) + 1,
    size.schedules,
    (id) => {
      const concertId = concertOfSchedule(id, size.schedulesPerConcert);
      const nth = id - (concertId - 1) * size.schedulesPerConcert;
      return {
        id,
        concert_id: concertId,
        starts_at: FIRST_SHOW + (concertId % 365) * DAY + nth * DAY,
        seat_count: size.seatsPerSchedule,
        base_price: 50_000 + (concertId % 5) * 10_000,
      };
    },
    (trx, rows) => trx.insertInto('schedules').values(rows).execute(),
    progress,
  );

  inserted.users = await fill(
    db,
    'users',
    (await maxId(db, 'users')) + 1,
    size.users,
    (id) => ({ id, name: `user-${id}`, created_at: now }),
    (trx, rows) => trx.insertInto('users').values(rows).execute(),
    progress,
  );

  inserted.point_wallets = await fill(
    db,
    'point_wallets',
    (await maxWallet(db)) + 1,
    size.users,
    (id) => ({ user_id: id, balance: startingPoints, updated_at: now }),
    async (trx, rows) => {
      await trx.insertInto('point_wallets').values(rows).execute();
      if (startingPoints > 0)
        await trx
          .insertInto('point_ledger')
          .values(
            rows.map((w) => ({
              id: newId(),
              user_id: w.user_id,
              delta: startingPoints,
              reason: 'DEMO_GRANT',
              reference_id: null,
              created_at: now,
            })),
          )
          .execute();
    },
    progress,
  );
  return inserted;
}

/** A progress printer that writes at most one line per table per 10%. */
export function progressPrinter(
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): SeedProgress {
  const last = new Map<string, number>();
  return (table, done, total) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const prev = last.get(table) ?? -1;
    if (pct === 100 || pct >= prev + 10) {
      last.set(table, pct);
      write(`seed: ${table} ${done.toLocaleString('en')}/${total.toLocaleString('en')} (${pct}%)`);
    }
  };
}
