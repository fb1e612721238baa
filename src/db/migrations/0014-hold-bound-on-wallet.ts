import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';
import { payForHeldSeat } from './0011-claims-by-seat.ts';
import { holdWithinBound } from './0013-live-hold-bound.ts';

// MariaDB's bound of a user's live holds (migration 0013) moves from the user's row to the user's wallet, so a
// payment lowers it in the update of the wallet it makes anyway: no row more, one column more. On the user's
// row only a hold's lapse lowered it, so a user who held up to the limit and paid found the bound at the limit
// for the rest of the hold time and had every next hold run the exact count (in `bench:booking`, whose users
// hold again right after paying, half of the plain holds). A payment turns one live hold into a sale, so the
// bound less one is still at least the live holds; it is never lowered below none.
// Every user has a wallet (the two are written together), so the wallet's row also says that the user exists,
// and updating it is the user's lock for holds, as the user's row was. A hold claims the seat before it touches
// the wallet, as a payment locks the claim before the wallet: neither waits on the other in a cycle.
// Both procedures keep their names and parameters: processes of the previous version call the new bodies. A
// takeover of a lapsed claim by such a process (booking-writes.ts) still raises the user's row, which nothing
// reads any more, so during a rolling upgrade such a hold is counted only by the exact count: upgrade between
// sales, as for migration 0011.
// MariaDB only, where the procedures run.

/** `text` with `from` replaced by `to`, where `from` must occur exactly once: the snapshot is what it was. */
function replacedOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0)
    throw new Error(`migration 0014: expected one "${from.slice(0, 60)}" in the procedure it rewrites`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

const holdOnWallet = [
  [
    'update users set hold_bound = (@tr_hold_bound := if(hold_until > p_now, hold_bound, 0)) + 1,',
    'update point_wallets set hold_bound = (@tr_hold_bound := if(hold_until > p_now, hold_bound, 0)) + 1,',
  ],
  ['    where id = p_user_id;\n    set v_user', '    where user_id = p_user_id;\n    set v_user'],
  [
    'update users set hold_bound = v_held + 1 where id = p_user_id;',
    'update point_wallets set hold_bound = v_held + 1 where user_id = p_user_id;',
  ],
].reduce((text, [from, to]) => replacedOnce(text, from, to), holdWithinBound);

const payLoweringBound = (db: Kysely<unknown>) =>
  replacedOnce(
    payForHeldSeat.compile(db).sql,
    'update point_wallets set balance = (@paid_balance := balance - p_amount), updated_at = p_now',
    'update point_wallets set balance = (@paid_balance := balance - p_amount), updated_at = p_now,\n' +
      '      hold_bound = if(hold_bound > 0, hold_bound - 1, 0)',
  );

/** The procedure `name` as `text` creates it: the old body dropped, the new one created. */
export async function replaceProcedure(db: Kysely<unknown>, name: string, text: string): Promise<void> {
  await sql`drop procedure if exists ${sql.raw(name)}`.execute(db);
  await sql.raw(text).execute(db);
}

/** A migration that makes one procedure of its own where the dialect runs them, and drops it going down. */
export function procedureMigration(name: string, text: string) {
  return ({ storedProcedures }: DialectCapabilities): Migration => ({
    async up(db: Kysely<unknown>) {
      if (storedProcedures) await replaceProcedure(db, name, text);
    },
    async down(db: Kysely<unknown>) {
      if (storedProcedures) await sql`drop procedure if exists ${sql.raw(name)}`.execute(db);
    },
  });
}

export function holdBoundOnWallet({ storedProcedures }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (!storedProcedures) return;
      await sql`alter table point_wallets add column hold_bound integer not null default 0,
        add column hold_until bigint not null default 0`.execute(db);
      await sql`update point_wallets w join users u on u.id = w.user_id
        set w.hold_bound = u.hold_bound, w.hold_until = u.hold_until`.execute(db);
      await replaceProcedure(db, 'hold_free_seat_within_limit_2', holdOnWallet);
      await replaceProcedure(db, 'pay_for_held_seat', payLoweringBound(db));
    },
    async down(db: Kysely<unknown>) {
      if (!storedProcedures) return;
      await replaceProcedure(db, 'pay_for_held_seat', payForHeldSeat.compile(db).sql);
      await replaceProcedure(db, 'hold_free_seat_within_limit_2', holdWithinBound);
      await sql`update users u join point_wallets w on w.user_id = u.id
        set u.hold_bound = w.hold_bound, u.hold_until = w.hold_until`.execute(db);
      await sql`alter table point_wallets drop column hold_bound, drop column hold_until`.execute(db);
    },
  };
}
