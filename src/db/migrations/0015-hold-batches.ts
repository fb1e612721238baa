import { procedureMigration } from './0014-hold-bound-on-wallet.ts';

// MariaDB's holds of free seats, many in one call: `hold_free_seats(p_holds)` takes a JSON array of holds (one
// array of values each, in the order of HOLD_COLUMNS) and writes them in one transaction of six statements,
// whatever their number. Each statement of a procedure costs MariaDB 20-50 µs of CPU (bench:hold-parts), so a
// hold's four row-writing statements, not its round trip, bound how many holds a second MariaDB takes; in one
// batch they are shared (bench:booking, see batched-calls.ts, which sends batches only while the database is
// busy).
// Per hold it decides what hold_free_seat_within_limit_2 decides, or leaves the hold unwritten, for its caller
// to answer `taken`, whereupon the domain tells a live claim (SEAT_ALREADY_RESERVED) from none, the case the
// exact path (a transaction of single statements) then decides:
// - The users' wallets are locked first, in one statement, the batch's users' rows by primary key. The wallet is
//   the user's lock for holds (migration 0014), so no other hold of theirs, batched or not, runs in between.
// - A seat is claimed only while the user's bound of live holds (reset once `hold_until` has passed) plus the
//   number of this user's holds in the batch (`of_user`) is within the limit. A user whose bound would pass it
//   gets none of the batch's holds: the exact count runs on the exact path. A user without a wallet (unknown)
//   gets none either.
// - The claims are `insert ignore`d: a seat claimed by anyone else, or twice in the batch, is left to whoever
//   has it. What was won is read back by primary key: a claim carrying the hold's reservation id.
// - The bound of each user who won a seat goes up by `of_user`, the holds they asked for, won or not (it is a
//   bound, at least the number of live holds), and `hold_until` to the latest expiry among them (`user_until`).
//   A multi-table update changes each wallet once however many of the user's holds it joins.
// - The reservations and events of the holds won are written, and their reservation ids answered.
// Every join is driven by the JSON's rows and reaches claims and wallets by primary key (forced: the table
// function has no statistics, and a plan scanning the wallets would lock every row it passed).
// Needs JSON_TABLE (MariaDB 10.6, MySQL 8.0.4).

/** The values of one hold in p_holds, in this order. */
export const HOLD_COLUMNS = [
  'schedule_id',
  'seat_id',
  'reservation_id',
  'user_id',
  'claim_status',
  'expires_at',
  'status',
  'price',
  'created_at',
  'updated_at',
  'event_id',
  'aggregate_id',
  'type',
  'payload',
  'event_created_at',
  'published_at',
  'now',
  'max_holds',
  'of_user',
  'user_until',
] as const;

const TYPES: Record<(typeof HOLD_COLUMNS)[number], string> = {
  schedule_id: 'integer',
  seat_id: 'integer',
  reservation_id: 'varchar(36)',
  user_id: 'integer',
  claim_status: 'varchar(8)',
  expires_at: 'bigint',
  status: 'varchar(16)',
  price: 'integer',
  created_at: 'bigint',
  updated_at: 'bigint',
  event_id: 'varchar(36)',
  aggregate_id: 'varchar(64)',
  type: 'varchar(64)',
  payload: 'text',
  event_created_at: 'bigint',
  published_at: 'bigint',
  now: 'bigint',
  max_holds: 'integer',
  of_user: 'integer',
  user_until: 'bigint',
};

const HOLDS = `json_table(p_holds, '$[*]' columns (${HOLD_COLUMNS.map(
  (c, i) => `${c} ${TYPES[c]} path '$[${i}]'`,
).join(', ')})) h`;
const WALLET = 'straight_join point_wallets w force index (primary) on w.user_id = h.user_id';
const WON = `${HOLDS} straight_join seat_claims c force index (primary)
    on c.schedule_id = h.schedule_id and c.seat_id = h.seat_id and c.reservation_id = h.reservation_id`;
const BOUND = 'if(w.hold_until > h.now, w.hold_bound, 0)';

export const holdFreeSeats = `create procedure hold_free_seats(p_holds json)
begin
  declare v_wallets integer default 0;
  declare exit handler for sqlexception begin rollback; resignal; end;
  start transaction;
  select count(*) into v_wallets from ${HOLDS} ${WALLET} for update;
  insert ignore into seat_claims (schedule_id, seat_id, reservation_id, user_id, status, expires_at)
    select h.schedule_id, h.seat_id, h.reservation_id, h.user_id, h.claim_status, h.expires_at
    from ${HOLDS} ${WALLET}
    where ${BOUND} + h.of_user <= h.max_holds;
  update ${WON} ${WALLET}
    set w.hold_bound = ${BOUND} + h.of_user, w.hold_until = greatest(w.hold_until, h.user_until);
  insert into reservations (id, user_id, schedule_id, seat_id, status, price, created_at, expires_at, updated_at)
    select h.reservation_id, h.user_id, h.schedule_id, h.seat_id, h.status, h.price, h.created_at, h.expires_at,
      h.updated_at
    from ${WON};
  insert into outbox (event_id, aggregate_id, type, payload, created_at, published_at)
    select h.event_id, h.aggregate_id, h.type, h.payload, h.event_created_at, h.published_at from ${WON};
  select h.reservation_id from ${WON};
  commit;
end`;

export const holdBatches = procedureMigration('hold_free_seats', holdFreeSeats);
