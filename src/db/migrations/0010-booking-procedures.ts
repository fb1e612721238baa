import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

// A hold and a payment as stored procedures where the database has them (MariaDB): called as a prepared
// statement, nothing is parsed per call, and the body is compiled once per connection. Each is the whole
// transaction; a failed statement rolls it back and reaches the caller unchanged (a deadlock is retried there).
// The decisions are the one-batch forms' (booking-writes.ts): the claim's primary key decides a seat, the user's
// row lock orders the hold-limit counts, and one conditional multi-table UPDATE decides a payment (and keeps the
// balance it wrote, so a paid call reads nothing after it).

export const holdSeat = sql`create procedure hold_free_seat_within_limit(
  p_user_id integer, p_now bigint, p_max_holds integer, p_keyed boolean,
  p_scope varchar(64), p_key varbinary(512), p_claimed_at bigint, p_response text,
  c_schedule_id integer, c_seat_id integer, c_reservation_id varchar(36), c_user_id integer,
  c_status varchar(8), c_expires_at bigint,
  r_id varchar(36), r_user_id integer, r_schedule_id integer, r_seat_id integer, r_status varchar(16),
  r_price integer, r_created_at bigint, r_expires_at bigint, r_updated_at bigint,
  e_event_id varchar(36), e_aggregate_id varchar(64), e_type varchar(64), e_payload text,
  e_created_at bigint, e_published_at bigint)
begin
  declare v_user integer default 0;
  declare v_key integer default 1;
  declare v_held integer default 0;
  declare v_claimed integer default 0;
  declare exit handler for sqlexception begin rollback; resignal; end;
  start transaction;
  select count(*) into v_user from users where id = p_user_id for update;
  if p_keyed then
    select count(*) into v_key from idempotency_keys
    where scope = p_scope and idem_key = p_key and status_code = 0 and created_at = p_claimed_at for update;
  end if;
  select count(*) into v_held from seat_claims
  where user_id = p_user_id and status = 'HELD' and expires_at > p_now;
  if v_user > 0 and v_key > 0 and v_held < p_max_holds then
    insert ignore into seat_claims (schedule_id, seat_id, reservation_id, user_id, status, expires_at)
    values (c_schedule_id, c_seat_id, c_reservation_id, c_user_id, c_status, c_expires_at);
    set v_claimed = row_count();
    if v_claimed > 0 then
      insert into reservations
        (id, user_id, schedule_id, seat_id, status, price, created_at, expires_at, updated_at)
      values (r_id, r_user_id, r_schedule_id, r_seat_id, r_status, r_price, r_created_at, r_expires_at,
        r_updated_at);
      insert into outbox (event_id, aggregate_id, type, payload, created_at, published_at)
      values (e_event_id, e_aggregate_id, e_type, e_payload, e_created_at, e_published_at);
      if p_keyed then
        update idempotency_keys set status_code = 1, response = p_response
        where scope = p_scope and idem_key = p_key and status_code = 0 and created_at = p_claimed_at;
      end if;
    end if;
  end if;
  commit;
  select v_user as user_found, v_key as key_ours, v_held as held, v_claimed as claimed;
end`;

const payForHold = sql`create procedure pay_for_hold(
  p_id varchar(36), p_user_id integer, p_amount bigint, p_now bigint,
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
  update reservations r
    join seat_claims c on c.reservation_id = r.id
    join point_wallets w on w.user_id = r.user_id
  set r.status = 'CONFIRMED', r.updated_at = p_now, c.status = 'SOLD',
    w.balance = (@paid_balance := w.balance - p_amount), w.updated_at = p_now
  where r.id = p_id and r.user_id = p_user_id and r.status = 'HELD'
    and c.status = 'HELD' and c.expires_at > p_now and w.balance >= p_amount;
  if row_count() > 0 then
    set v_paid = 1, v_balance = @paid_balance;
    insert into payments (id, reservation_id, user_id, amount, created_at)
    values (pay_id, pay_reservation_id, pay_user_id, pay_amount, pay_created_at);
    insert into point_ledger (id, user_id, delta, reason, reference_id, created_at)
    values (l_id, l_user_id, l_delta, l_reason, l_reference_id, l_created_at);
    insert into outbox (event_id, aggregate_id, type, payload, created_at, published_at)
    values (e_event_id, e_aggregate_id, e_type, e_payload, e_created_at, e_published_at);
  else
    set v_held = exists (select 1 from reservations r join seat_claims c on c.reservation_id = r.id
      where r.id = p_id and r.user_id = p_user_id and r.status = 'HELD'
        and c.status = 'HELD' and c.expires_at > p_now);
    set v_balance = (select balance from point_wallets where user_id = p_user_id);
  end if;
  commit;
  select v_paid as paid, v_held as held, v_balance as balance;
end`;

export function bookingProcedures({ storedProcedures }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (!storedProcedures) return;
      await holdSeat.execute(db);
      await payForHold.execute(db);
    },
    async down(db: Kysely<unknown>) {
      if (!storedProcedures) return;
      await sql`drop procedure if exists hold_free_seat_within_limit`.execute(db);
      await sql`drop procedure if exists pay_for_hold`.execute(db);
    },
  };
}
