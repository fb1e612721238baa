import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

// Every statement reaches a seat's claim by its primary key (schedule, seat), so the index of claims by
// reservation id goes: it was one more index entry written by every hold. A payment and a release know the
// reservation, and so its seat. In the booking bench, PostgreSQL's server CPU per hold fell by about a tenth
// (median 107-133 µs to 100-108 µs in three runs each).
// During a rolling upgrade, processes of the previous version find a claim by its reservation id with a scan
// (release, expiry, and MariaDB's pay_for_hold of migration 0010, kept for them) until they are replaced:
// upgrade between sales.
//
// MariaDB's payment as three single-table updates, each reaching its row by primary key: the seat's claim, the
// user's wallet, the reservation. Migration 0010's procedure decided it in one UPDATE joining the three tables,
// and planning that join cost more than running three key lookups: in the booking bench (bench/booking-writes.ts)
// MariaDB's server CPU per payment fell from 190-221 µs to 142-166 µs.
// The claim is locked first, as a release and an expiry lock it, so none of them waits on another in a cycle.
// Each update is conditional and decides one refusal: the claim (not held: released, lapsed, sold, or another
// user's), the wallet (short of points).

export const payForHeldSeat = sql`create procedure pay_for_held_seat(
  p_id varchar(36), p_user_id integer, p_amount bigint, p_now bigint, p_schedule_id integer, p_seat_id integer,
  pay_id varchar(36), pay_reservation_id varchar(36), pay_user_id integer, pay_amount bigint,
  pay_created_at bigint,
  l_id varchar(36), l_user_id integer, l_delta bigint, l_reason varchar(16), l_reference_id varchar(36),
  l_created_at bigint,
  e_event_id varchar(36), e_aggregate_id varchar(64), e_type varchar(64), e_payload text,
  e_created_at bigint, e_published_at bigint)
begin
  declare v_paid integer default 0;
  declare v_held integer default 0;
  declare v_balance bigint default null;
  declare exit handler for sqlexception begin rollback; resignal; end;
  start transaction;
  update seat_claims set status = 'SOLD'
  where schedule_id = p_schedule_id and seat_id = p_seat_id and reservation_id = p_id and user_id = p_user_id
    and status = 'HELD' and expires_at > p_now;
  if row_count() > 0 then
    set v_held = 1;
    update point_wallets set balance = (@paid_balance := balance - p_amount), updated_at = p_now
    where user_id = p_user_id and balance >= p_amount;
    if row_count() > 0 then
      set v_balance = @paid_balance;
      update reservations set status = 'CONFIRMED', updated_at = p_now where id = p_id and status = 'HELD';
      set v_paid = row_count() > 0, v_held = v_paid;
    end if;
  end if;
  if v_paid then
    insert into payments (id, reservation_id, user_id, amount, created_at)
    values (pay_id, pay_reservation_id, pay_user_id, pay_amount, pay_created_at);
    insert into point_ledger (id, user_id, delta, reason, reference_id, created_at)
    values (l_id, l_user_id, l_delta, l_reason, l_reference_id, l_created_at);
    insert into outbox (event_id, aggregate_id, type, payload, created_at, published_at)
    values (e_event_id, e_aggregate_id, e_type, e_payload, e_created_at, e_published_at);
    commit;
  else
    rollback;
    set v_balance = (select balance from point_wallets where user_id = p_user_id);
  end if;
  select v_paid as paid, v_held as held, v_balance as balance;
end`;

export function claimsBySeat({ storedProcedures, indexNamesPerTable }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (storedProcedures) await payForHeldSeat.execute(db);
      const drop = db.schema.dropIndex('seat_claims_reservation_idx');
      await (indexNamesPerTable ? drop.on('seat_claims') : drop).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema
        .createIndex('seat_claims_reservation_idx')
        .on('seat_claims')
        .column('reservation_id')
        .execute();
      if (storedProcedures) await sql`drop procedure if exists pay_for_held_seat`.execute(db);
    },
  };
}
