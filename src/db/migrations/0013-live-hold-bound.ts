import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';
import { holdSeat } from './0010-booking-procedures.ts';
import { holdSeatClaimingKey } from './0012-hold-claims-new-key.ts';

// MariaDB's hold without a count of the user's live holds in the common case (bench/hold-parts.ts: that count
// was the dearest part of a hold, about a fifth of MariaDB's CPU per hold).
// The user's row keeps a bound: `hold_bound`, at least the number of the user's live holds, and `hold_until`,
// the latest expiry among the holds it counts. Every hold adds one to it, in the hold's own transaction; once
// `hold_until` has passed, every hold it counted has lapsed and it starts again from none. Payments and
// releases leave it alone (it only ever counts high), so only a user whose bound has reached the limit gets
// the exact count, which then tightens the bound. Updating the row is also the user's lock: holds of one user
// are decided one after another, as before.
// The seat's claim is now tried first: a lost race, the common refusal in an on-sale, touches neither the
// user's row nor a count. A hold refused after its claim (the limit, an unknown user) is rolled back whole; a
// new idempotency key's claim is then made again on its own, so the refusal can be stored under it.
// Kept on MariaDB only, where the procedure runs; a hold in a transaction of single statements (taking over a
// lapsed claim) adds to the bound too (booking-writes.ts). Migration 0010's procedure becomes a call of this
// one, so processes of the previous version keep the bound too while they run.

const CLAIM_KEY = `insert ignore into idempotency_keys
      (scope, idem_key, request_hash, caller_digest, status_code, response, created_at, expires_at)
    values (p_scope, p_key, p_request_hash, p_caller_digest, 0, '', p_claimed_at, p_key_expires_at);
    set v_key = row_count();`;

const PARAMS = `p_user_id integer, p_now bigint, p_max_holds integer, p_keyed boolean,
  p_scope varchar(64), p_key varbinary(512), p_claimed_at bigint, p_response text`;
const NEW_KEY_PARAMS = `p_new_key boolean, p_request_hash varchar(64), p_caller_digest varchar(64),
  p_key_expires_at bigint`;
const ROW_PARAMS = `c_schedule_id integer, c_seat_id integer, c_reservation_id varchar(36), c_user_id integer,
  c_status varchar(8), c_expires_at bigint,
  r_id varchar(36), r_user_id integer, r_schedule_id integer, r_seat_id integer, r_status varchar(16),
  r_price integer, r_created_at bigint, r_expires_at bigint, r_updated_at bigint,
  e_event_id varchar(36), e_aggregate_id varchar(64), e_type varchar(64), e_payload text,
  e_created_at bigint, e_published_at bigint`;
const ROW_ARGS = `c_schedule_id, c_seat_id, c_reservation_id, c_user_id, c_status, c_expires_at,
  r_id, r_user_id, r_schedule_id, r_seat_id, r_status, r_price, r_created_at, r_expires_at, r_updated_at,
  e_event_id, e_aggregate_id, e_type, e_payload, e_created_at, e_published_at`;

export const holdWithinBound = `create procedure hold_free_seat_within_limit_2(${PARAMS}, ${NEW_KEY_PARAMS}, ${ROW_PARAMS})
begin
  declare v_user integer default 1;
  declare v_key integer default 1;
  declare v_held integer default 0;
  declare v_claimed integer default 0;
  declare exit handler for sqlexception begin rollback; resignal; end;
  start transaction;
  if p_new_key then
    ${CLAIM_KEY}
  elseif p_keyed then
    select count(*) into v_key from idempotency_keys
    where scope = p_scope and idem_key = p_key and status_code = 0 and created_at = p_claimed_at for update;
  end if;
  if v_key > 0 then
    insert ignore into seat_claims (schedule_id, seat_id, reservation_id, user_id, status, expires_at)
    values (c_schedule_id, c_seat_id, c_reservation_id, c_user_id, c_status, c_expires_at);
    set v_claimed = row_count();
  end if;
  if v_claimed > 0 then
    set @tr_hold_bound = null;
    update users set hold_bound = (@tr_hold_bound := if(hold_until > p_now, hold_bound, 0)) + 1,
      hold_until = greatest(hold_until, c_expires_at)
    where id = p_user_id;
    set v_user = @tr_hold_bound is not null, v_held = coalesce(@tr_hold_bound, 0);
    if v_user > 0 and v_held >= p_max_holds then
      select count(*) - 1 into v_held from seat_claims
      where user_id = p_user_id and status = 'HELD' and expires_at > p_now;
      update users set hold_bound = v_held + 1 where id = p_user_id;
    end if;
  end if;
  if v_claimed > 0 and v_user > 0 and v_held < p_max_holds then
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
    commit;
  elseif v_claimed > 0 then
    set v_claimed = 0;
    rollback;
    if p_new_key then
      start transaction;
      ${CLAIM_KEY}
      commit;
    end if;
  else
    commit;
  end if;
  select v_user as user_found, v_key as key_ours, v_held as held, v_claimed as claimed;
end`;

const holdOfPreviousVersion = `create procedure hold_free_seat_within_limit(${PARAMS}, ${ROW_PARAMS})
begin
  call hold_free_seat_within_limit_2(p_user_id, p_now, p_max_holds, p_keyed, p_scope, p_key, p_claimed_at,
    p_response, false, '', null, 0, ${ROW_ARGS});
end`;

export function liveHoldBound({ storedProcedures }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (!storedProcedures) return;
      await sql`alter table users add column hold_bound integer not null default 0,
        add column hold_until bigint not null default 0`.execute(db);
      await sql`update users u join (
          select user_id, count(*) as n, max(expires_at) as until from seat_claims
          where status = 'HELD' group by user_id
        ) c on c.user_id = u.id
        set u.hold_bound = c.n, u.hold_until = c.until`.execute(db);
      await sql`drop procedure hold_free_seat_within_limit_2`.execute(db);
      await sql.raw(holdWithinBound).execute(db);
      await sql`drop procedure hold_free_seat_within_limit`.execute(db);
      await sql.raw(holdOfPreviousVersion).execute(db);
    },
    async down(db: Kysely<unknown>) {
      if (!storedProcedures) return;
      await sql`drop procedure if exists hold_free_seat_within_limit_2`.execute(db);
      await holdSeatClaimingKey.execute(db);
      await sql`drop procedure if exists hold_free_seat_within_limit`.execute(db);
      await holdSeat.execute(db);
      await sql`alter table users drop column hold_bound, drop column hold_until`.execute(db);
    },
  };
}
