import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

// A hold under an idempotency key not stored yet claims the key in its own call (booking-writes.ts), so a held
// seat under a fresh key is one round trip instead of two (claim, then hold). As migration 0010's procedure, with
// one more way of being keyed: p_new_key inserts the key's row first, pending and claimed at p_claimed_at, as
// IdempotencyStore.begin would. A key stored already (row_count() 0) makes the call write nothing and answer
// key_ours 0; the caller then claims the key the usual way. The claim is kept when the hold is refused, so the
// refusal can be stored under it. Migration 0010's procedure stays for processes of the previous version.

export const holdSeatClaimingKey = sql`create procedure hold_free_seat_within_limit_2(
  p_user_id integer, p_now bigint, p_max_holds integer, p_keyed boolean,
  p_scope varchar(64), p_key varbinary(512), p_claimed_at bigint, p_response text,
  p_new_key boolean, p_request_hash varchar(64), p_caller_digest varchar(64), p_key_expires_at bigint,
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
  if p_new_key then
    insert ignore into idempotency_keys
      (scope, idem_key, request_hash, caller_digest, status_code, response, created_at, expires_at)
    values (p_scope, p_key, p_request_hash, p_caller_digest, 0, '', p_claimed_at, p_key_expires_at);
    set v_key = row_count();
  end if;
  if v_key > 0 then
    select count(*) into v_user from users where id = p_user_id for update;
    if p_keyed and not p_new_key then
      select count(*) into v_key from idempotency_keys
      where scope = p_scope and idem_key = p_key and status_code = 0 and created_at = p_claimed_at for update;
    end if;
    select count(*) into v_held from seat_claims
    where user_id = p_user_id and status = 'HELD' and expires_at > p_now;
  end if;
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

export function holdClaimsNewKey({ storedProcedures }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (storedProcedures) await holdSeatClaimingKey.execute(db);
    },
    async down(db: Kysely<unknown>) {
      if (storedProcedures) await sql`drop procedure if exists hold_free_seat_within_limit_2`.execute(db);
    },
  };
}
