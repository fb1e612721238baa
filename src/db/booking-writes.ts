// A hold and a payment each change several tables at once. Each is written in the fewest round trips
// the database allows: on PostgreSQL one data-modifying statement (a hold: the user's lock, then that statement,
// behind one Sync, since the hold limit's count needs a snapshot taken after the lock), one call of a stored
// procedure (MariaDB, migrations 0010 to 0014), a transaction of single statements elsewhere (SQLite).
// In every form the race is decided by the database: the claim's primary key for a hold, conditional
// updates of claim, wallet and reservation for a payment.
import { CompiledQuery, type RawBuilder, sql } from 'kysely';
import type {
  BookingEvent,
  HoldPayment,
  LedgerEntry,
  LimitedHold,
  LimitedHoldOutcome,
  Payment,
  PaymentOutcome,
  Reservation,
  SeatClaim,
} from '../domain/booking/model.ts';
import { batchedCallsOf } from './batched-calls.ts';
import type { Database, Db } from './database.ts';
import { newKeyRow } from './idempotency-repository.ts';
import { HOLD_COLUMNS } from './migrations/0015-hold-batches.ts';
import { outboxRow } from './outbox-repository.ts';
import { prepared } from './prepared-statements.ts';
import { statementTemplate } from './statement-template.ts';
import { inOneCall, inOneRoundTrip, inTransaction, skippingDuplicate } from './transaction.ts';

export const claimRow = (c: SeatClaim) => ({
  schedule_id: c.scheduleId,
  seat_id: c.seatId,
  reservation_id: c.reservationId,
  user_id: c.userId,
  status: c.status,
  expires_at: c.expiresAt,
});

export const reservationRow = (r: Reservation) => ({
  id: r.id,
  user_id: r.userId,
  schedule_id: r.scheduleId,
  seat_id: r.seatId,
  status: r.status,
  price: r.price,
  created_at: r.createdAt,
  expires_at: r.expiresAt,
  updated_at: r.updatedAt,
});

export const ledgerRow = (e: LedgerEntry) => ({
  id: e.id,
  user_id: e.userId,
  delta: e.delta,
  reason: e.reason,
  reference_id: e.referenceId,
  created_at: e.createdAt,
});

const paymentRow = (p: Payment) => ({
  id: p.id,
  reservation_id: p.reservationId,
  user_id: p.userId,
  amount: p.amount,
  created_at: p.createdAt,
});

type Row = Record<string, string | number | null>;

/** `INSERT INTO table (columns) SELECT values <source>`: the row is written once per row of the source. */
function insertFrom(table: string, row: Row, source: RawBuilder<unknown>): RawBuilder<unknown> {
  const columns = sql.join(Object.keys(row).map((c) => sql.ref(c)));
  return sql`insert into ${sql.table(table)} (${columns}) select ${sql.join(Object.values(row))} ${source}`;
}

/** A hold's values as its statements bind them: rows as written, the key's answer as stored. */
interface HoldValues {
  userId: number;
  now: number;
  maxHolds: number;
  claim: Row;
  reservation: Row;
  event: Row;
  key: { scope: string; key: string; claimedAt: number; response: string };
  /** The key's row, when the hold claims the key itself (KeyAnswer.newKey). */
  newKey?: { requestHash: string; callerDigest: string | null; expiresAt: number };
}

function holdValues(h: LimitedHold): HoldValues {
  const claim = h.answer?.claim;
  return {
    userId: h.reservation.userId,
    now: h.now,
    maxHolds: h.maxHolds,
    claim: claimRow(h.claim),
    reservation: reservationRow(h.reservation),
    event: outboxRow(h.event),
    key: {
      scope: claim?.scope ?? '',
      key: claim?.key ?? '',
      claimedAt: claim?.claimedAt ?? 0,
      response: h.answer ? JSON.stringify(h.answer.outcome) : '',
    },
    ...(h.answer?.newKey && { newKey: h.answer.newKey }),
  };
}

/**
 * BookingStore.holdFreeSeatWithinLimit in one round trip (needs `statementsBehindOneSync` or
 * `storedProcedures`): the user's row is locked by one statement, so the count of live holds in the next one,
 * made after the lock was granted, sees every hold committed before it. With an idempotency answer, the key's row is locked too,
 * the hold is written only while the claim is this request's, and the answer is stored with it.
 */
export async function holdFreeSeatWithinLimit(
  database: Database,
  h: LimitedHold,
): Promise<LimitedHoldOutcome> {
  const v = holdValues(h);
  const keyed = h.answer !== undefined;
  const { capabilities } = database;
  const { user, key, held, claimed } = capabilities.storedProcedures
    ? await holdBatched(database, v, keyed, holdAloneByProcedure, holdManyByProcedure)
    : await holdBatched(database, v, keyed, holdInOnePipeline, holdManyInOnePipeline);
  if (!key) return { status: v.newKey ? 'key_exists' : 'superseded' };
  if (!user) return { status: 'no_user' };
  if (claimed) return { status: 'held' };
  return held >= h.maxHolds ? { status: 'limit', held } : { status: 'taken' };
}

interface LimitedHoldRow {
  user: boolean;
  /** The idempotency claim is still this request's (always true without one). */
  key: boolean;
  held: number;
  claimed: boolean;
}

/**
 * Where the database has key locks, the number a user's holds are ordered by: its own space of advisory locks
 * (29810, "tr"), the user's id within it.
 */
export const USER_HOLDS_LOCK_SPACE = 29810;

/**
 * The user's holds are ordered by a lock taken here: a key lock where there is one (nothing written), else the
 * user's wallet, the row MariaDB's hold procedure updates (migration 0014), so a hold of either form waits for
 * the other. Every user has a wallet: one row, `found`, says whether the user exists.
 */
export const lockUserSql = (keyLocks: boolean, userId: number) =>
  keyLocks
    ? sql<{
        found: boolean | number;
      }>`select pg_advisory_xact_lock(${USER_HOLDS_LOCK_SPACE}, ${userId}) is not null
        and exists (select 1 from users where id = ${userId}) as found`
    : sql<{
        found: boolean | number;
      }>`select 1 as found from point_wallets where user_id = ${userId} for update`;

const lockUser = {
  keyed: statementTemplate((v: HoldValues) => prepared('lock_user_key', lockUserSql(true, v.userId))),
  row: statementTemplate((v: HoldValues) => prepared('lock_user', lockUserSql(false, v.userId))),
};

/** The idempotency claim is still this request's: pending, and claimed when this request claimed it. */
const keyStillOurs = (v: HoldValues) =>
  sql`scope = ${v.key.scope} and idem_key = ${v.key.key} and status_code = 0 and created_at = ${v.key.claimedAt}`;

/** The claim's row, locked: the hold and its answer are written only while it is still this request's. */
const lockKey = statementTemplate((v: HoldValues) =>
  prepared('lock_idempotency_key', sql`select 1 from idempotency_keys where ${keyStillOurs(v)} for update`),
);

/** The answer stored as IdempotencyTx.completeIdempotencyKey stores it (status_code 1: complete). */
const storeAnswer = (v: HoldValues, when: RawBuilder<unknown>) =>
  sql`update idempotency_keys set status_code = 1, response = ${v.key.response}
    where ${keyStillOurs(v)} and ${when}`;

const holdInOneStatement = (keyed: boolean) =>
  statementTemplate((v: HoldValues) => {
    const ours = keyed ? sql`and exists (select 1 from idempotency_keys where ${keyStillOurs(v)})` : sql``;
    const claimInsert = insertFrom(
      'seat_claims',
      v.claim,
      sql`where (select n from live) < ${v.maxHolds} and exists (select 1 from users where id = ${v.userId})
        ${ours} on conflict do nothing returning reservation_id`,
    );
    const answer = keyed ? sql`, answer as (${storeAnswer(v, sql`exists (select 1 from claim)`)})` : sql``;
    return prepared(
      keyed ? 'hold_free_seat_within_limit_keyed' : 'hold_free_seat_within_limit',
      sql`with live as (
          select count(*) as n from seat_claims
          where user_id = ${v.userId} and status = 'HELD' and expires_at > ${v.now}
        ), claim as (${claimInsert}),
        reservation as (${insertFrom('reservations', v.reservation, sql`from claim`)}),
        event as (${insertFrom('outbox', v.event, sql`from claim`)})${answer}
        select (select n from live) as held, (select count(*) from claim) as claimed`,
    );
  });
const holdStatement = { plain: holdInOneStatement(false), keyed: holdInOneStatement(true) };

/**
 * The key's row as IdempotencyStore.begin claims it, as a plain INSERT: a key stored already fails it, which
 * rolls back the statements before it and skips the ones after it, so nothing is written.
 */
const insertNewKey = statementTemplate((v: HoldValues & { newKey: NonNullable<HoldValues['newKey']> }) => {
  const { scope, key, claimedAt } = v.key;
  return prepared(
    'claim_new_idempotency_key',
    insertFrom('idempotency_keys', newKeyRow({ scope, key, claimedAt }, v.newKey), sql``),
  );
});

/** The new key's insert failed on the key's primary key: it is stored already. */
const isStoredKey = (err: unknown) =>
  (err as { code?: string; constraint?: string }).code === '23505' &&
  (err as { constraint?: string }).constraint === 'idempotency_keys_pk';

type HoldAlone = (database: Database, v: HoldValues, keyed: boolean) => Promise<LimitedHoldRow>;
type HoldMany = (database: Database, holds: readonly HoldValues[]) => Promise<LimitedHoldRow[]>;

/** A hold without an idempotency key goes in a batch when the database is busy (batched-calls.ts). */
function holdBatched(
  database: Database,
  v: HoldValues,
  keyed: boolean,
  alone: HoldAlone,
  many: HoldMany,
): Promise<LimitedHoldRow> {
  if (keyed) return alone(database, v, true);
  return batchedCallsOf(database, HOLDS, () => ({
    one: (values: HoldValues) => alone(database, values, false),
    many: (values: readonly HoldValues[]) => many(database, values),
  })).call(v);
}

const LOCK_USERS = `/* prepared lock_users */ select pg_advisory_xact_lock(${USER_HOLDS_LOCK_SPACE}, u)
  from unnest($1::int[]) as u`;

// PostgreSQL's holds many at once: behind one Sync, the users' locks in the order of their ids (so batches
// never wait on each other in a cycle), then one statement that counts each user's live holds, after the locks
// were granted, and claims the seats of users who exist and have room for all their holds in the batch, as the
// hold alone does for one (holdInOneStatement); the reservations and events of the seats won are written with
// them. Each user's holds are counted by the live-holds index, one user at a time: a plan joining the claims to
// the batch's users read the whole table, and slowed as it grew.
const HOLDS_STATEMENT = `/* prepared hold_free_seats */ with h as (
    select * from json_to_recordset($1::json) as h(schedule_id int, seat_id int, reservation_id text,
      user_id int, claim_status text, expires_at bigint, status text, price int, created_at bigint,
      updated_at bigint, event_id text, aggregate_id text, type text, payload text, event_created_at bigint,
      published_at bigint, now bigint, max_holds int, of_user int)
  ), live as (
    select u.user_id, (select count(*) from seat_claims c
        where c.user_id = u.user_id and c.status = 'HELD' and c.expires_at > u.now) as n
    from (select user_id, min(now) as now from h group by user_id) u
    where exists (select 1 from users where id = u.user_id)
  ), claim as (
    insert into seat_claims (schedule_id, seat_id, reservation_id, user_id, status, expires_at)
    select h.schedule_id, h.seat_id, h.reservation_id, h.user_id, h.claim_status, h.expires_at
    from h join live using (user_id)
    where live.n + h.of_user <= h.max_holds
    on conflict do nothing
    returning reservation_id
  ), reservation as (
    insert into reservations (id, user_id, schedule_id, seat_id, status, price, created_at, expires_at, updated_at)
    select h.reservation_id, h.user_id, h.schedule_id, h.seat_id, h.status, h.price, h.created_at, h.expires_at,
      h.updated_at
    from h join claim using (reservation_id)
  ), event as (
    insert into outbox (event_id, aggregate_id, type, payload, created_at, published_at)
    select h.event_id, h.aggregate_id, h.type, h.payload, h.event_created_at, h.published_at
    from h join claim using (reservation_id)
  )
  select reservation_id from claim`;

/** The number of each user's holds in a batch, and the latest expiry among them. */
function holdsPerUser(holds: readonly HoldValues[]): Map<number, { n: number; until: number }> {
  const ofUser = new Map<number, { n: number; until: number }>();
  for (const { userId, claim } of holds) {
    const u = ofUser.get(userId) ?? { n: 0, until: 0 };
    ofUser.set(userId, { n: u.n + 1, until: Math.max(u.until, Number(claim.expires_at)) });
  }
  return ofUser;
}

/** A batch's holds as the batch statements read them (PostgreSQL by name, MariaDB in HOLD_COLUMNS' order). */
function batchRows(holds: readonly HoldValues[], ofUser: Map<number, { n: number; until: number }>) {
  return holds.map(({ claim: c, reservation: r, event: e, now, maxHolds, userId }) => {
    const user = ofUser.get(userId) as { n: number; until: number };
    const row: Record<(typeof HOLD_COLUMNS)[number], unknown> = {
      schedule_id: c.schedule_id,
      seat_id: c.seat_id,
      reservation_id: c.reservation_id,
      user_id: c.user_id,
      claim_status: c.status,
      expires_at: c.expires_at,
      status: r.status,
      price: r.price,
      created_at: r.created_at,
      updated_at: r.updated_at,
      event_id: e.event_id,
      aggregate_id: e.aggregate_id,
      type: e.type,
      payload: e.payload,
      event_created_at: e.created_at,
      published_at: e.published_at,
      now,
      max_holds: maxHolds,
      of_user: user.n,
      user_until: user.until,
    };
    return row;
  });
}

/** A batch's answers: held where its claim was written (`won`: their reservation ids), else taken. */
function wonOrTaken(holds: readonly HoldValues[], won: unknown): LimitedHoldRow[] {
  const ids = new Set((won as { reservation_id: string }[]).map((w) => w.reservation_id));
  return holds.map((v) => ({
    user: true,
    key: true,
    held: 0,
    claimed: ids.has(String(v.claim.reservation_id)),
  }));
}

/** Holds by HOLDS_STATEMENT; a hold it did not write is `taken`, for the domain to tell why. */
async function holdManyInOnePipeline(
  database: Database,
  holds: readonly HoldValues[],
): Promise<LimitedHoldRow[]> {
  if (!holds.every(batchable)) return Promise.all(holds.map((v) => holdInOnePipeline(database, v, false)));
  const ofUser = holdsPerUser(holds);
  const rows = batchRows(holds, ofUser);
  const users = [...ofUser.keys()].sort((a, b) => a - b);
  const [, won] = await inOneRoundTrip(database, [
    CompiledQuery.raw(LOCK_USERS, [`{${users.join(',')}}`]), // an int[] literal: one Sync binds scalars
    CompiledQuery.raw(HOLDS_STATEMENT, [JSON.stringify(rows)]),
  ]);
  return wonOrTaken(holds, won);
}

async function holdInOnePipeline(database: Database, v: HoldValues, keyed: boolean): Promise<LimitedHoldRow> {
  const { db } = database;
  const { newKey } = v;
  const statements = [(database.capabilities.keyLocks ? lockUser.keyed : lockUser.row)(db, v)];
  if (newKey) statements.push(insertNewKey(db, { ...v, newKey }));
  else if (keyed) statements.push(lockKey(db, v));
  statements.push((keyed ? holdStatement.keyed : holdStatement.plain)(db, v));
  let results: unknown[];
  try {
    results = await inOneRoundTrip(database, statements);
  } catch (err) {
    if (newKey && isStoredKey(err)) return { user: true, key: false, held: 0, claimed: false };
    throw err;
  }
  const row = (results.at(-1) as { held: number | string; claimed: number | string }[])[0];
  const user = (results[0] as { found: boolean | number }[])[0];
  return {
    user: user !== undefined && Boolean(user.found),
    key: !keyed || newKey !== undefined || (results[1] as unknown[]).length > 0,
    held: Number(row.held),
    claimed: Number(row.claimed) > 0,
  };
}

/** A CALL of a procedure of migrations 0010 to 0014, marked so the driver prepares it (prepared-statements.ts). */
const call = (procedure: string, args: number) =>
  `/* prepared ${procedure} */ call ${procedure}(${Array(args).fill('?').join(', ')})`;
const HOLD_CALL = call('hold_free_seat_within_limit_2', 33);
const HOLDS_CALL = call('hold_free_seats', 1);
/** The kinds of batched calls (batched-calls.ts). */
export const HOLDS = 'holds';
export const PAYMENTS = 'payments';

/** A claim's and an outbox row's values in the order the procedures take them. */
const claimValues = (c: Row) => [
  c.schedule_id,
  c.seat_id,
  c.reservation_id,
  c.user_id,
  c.status,
  c.expires_at,
];
const eventValues = (e: Row) => [e.event_id, e.aggregate_id, e.type, e.payload, e.created_at, e.published_at];

/** A hold's row written by hold_free_seats carries the claim's user, seat and expiry into its reservation. */
const batchable = ({ claim: c, reservation: r }: HoldValues) =>
  r.id === c.reservation_id &&
  r.user_id === c.user_id &&
  r.schedule_id === c.schedule_id &&
  r.seat_id === c.seat_id &&
  r.expires_at === c.expires_at;

/** Holds by hold_free_seats (migration 0015), in the order of its HOLD_COLUMNS; a hold it did not write is `taken`. */
async function holdManyByProcedure(
  database: Database,
  holds: readonly HoldValues[],
): Promise<LimitedHoldRow[]> {
  if (!holds.every(batchable)) return Promise.all(holds.map((v) => holdAloneByProcedure(database, v, false)));
  const ofUser = holdsPerUser(holds);
  const rows = batchRows(holds, ofUser).map((row) => HOLD_COLUMNS.map((c) => row[c]));
  const [won] = await inOneCall(database, CompiledQuery.raw(HOLDS_CALL, [JSON.stringify(rows)]));
  return wonOrTaken(holds, won);
}

async function holdAloneByProcedure(
  database: Database,
  v: HoldValues,
  keyed: boolean,
): Promise<LimitedHoldRow> {
  const { claim: c, reservation: r, event: e, key: k, newKey: n } = v;
  const [rows] = await inOneCall(
    database,
    CompiledQuery.raw(HOLD_CALL, [
      v.userId,
      v.now,
      v.maxHolds,
      keyed ? 1 : 0,
      k.scope,
      k.key,
      k.claimedAt,
      k.response,
      n ? 1 : 0,
      n?.requestHash ?? '',
      n?.callerDigest ?? null,
      n?.expiresAt ?? 0,
      ...claimValues(c),
      r.id,
      r.user_id,
      r.schedule_id,
      r.seat_id,
      r.status,
      r.price,
      r.created_at,
      r.expires_at,
      r.updated_at,
      ...eventValues(e),
    ]),
  );
  const row = (rows as { user_found: number; key_ours: number; held: number; claimed: number }[])[0];
  return {
    user: Number(row.user_found) > 0,
    key: Number(row.key_ours) > 0,
    held: Number(row.held),
    claimed: Number(row.claimed) > 0,
  };
}

/**
 * Where holds run as MariaDB's procedure, the user's wallet keeps a bound of the user's live holds that every
 * hold raises and every payment lowers (migrations 0013 and 0014); a hold written here, by single statements in
 * a transaction (taking over a lapsed claim), raises it in that transaction.
 */
export async function raiseLiveHoldBound(database: Database, trx: Db, claim: SeatClaim, now: number) {
  if (!database.capabilities.storedProcedures) return;
  await sql`update point_wallets set hold_bound = if(hold_until > ${now}, hold_bound, 0) + 1,
    hold_until = greatest(hold_until, ${claim.expiresAt})
    where user_id = ${claim.userId}`.execute(trx);
}

/**
 * Claim, reservation and `reservation.held` event, all or none (false when the seat has a claim), inside a
 * transaction the caller holds (which also checks the user's hold limit and may
 * store an idempotency answer): the data-modifying statement where there is one, single statements elsewhere.
 */
export async function holdFreeSeatIn(
  database: Database,
  trx: Db,
  claim: SeatClaim,
  reservation: Reservation,
  event: BookingEvent,
): Promise<boolean> {
  const claimInsert = skippingDuplicate(database, trx.insertInto('seat_claims').values(claimRow(claim)));
  if (database.capabilities.dataModifyingCte) {
    const { rows } = await prepared(
      'hold_free_seat',
      sql<{ held: number }>`with claim as (${claimInsert.returning('reservation_id')}),
        reservation as (${insertFrom('reservations', reservationRow(reservation), sql`from claim`)}),
        event as (${insertFrom('outbox', outboxRow(event), sql`from claim`)})
      select count(*) as held from claim`,
    ).execute(trx);
    return Number(rows[0].held) > 0;
  }
  const claimed = await trx.executeQuery(claimInsert.compile());
  if (!Number(claimed.numAffectedRows ?? 0)) return false;
  await trx.insertInto('reservations').values(reservationRow(reservation)).execute();
  await trx.insertInto('outbox').values(outboxRow(event)).execute();
  return true;
}

/**
 * As payForHold, inside a transaction the caller holds (to store an idempotency answer with it). A refusal
 * may leave some of the payment's updates in that transaction: the caller rolls it back.
 */
export async function payForHoldIn(database: Database, trx: Db, p: HoldPayment): Promise<PaymentOutcome> {
  if (database.capabilities.dataModifyingCte) return payInOneStatement(trx, p);
  try {
    return { status: 'paid', balance: await payStepsOn(trx, p) };
  } catch (err) {
    if (!(err instanceof PaymentRefused)) throw err;
    if (err.outcome === 'not_held') return { status: 'not_held' };
    return { status: 'short', balance: await walletBalance(trx, p.payment.userId) };
  }
}

/** The user's live hold is sold, paid, confirmed and recorded all at once, or nothing changes. */
export function payForHold(database: Database, p: HoldPayment): Promise<PaymentOutcome> {
  const { capabilities } = database;
  if (capabilities.dataModifyingCte) return payInOneRetriedStatement(database, p);
  if (capabilities.storedProcedures) return payByProcedure(database, p);
  return payStepByStep(database, p);
}

interface OutcomeRow {
  paid: boolean | number;
  held: boolean | number;
  balance: number | string | null;
}

function outcomeOf(row: OutcomeRow | undefined): PaymentOutcome {
  const balance = Number(row?.balance ?? 0);
  if (Number(row?.paid ?? 0)) return { status: 'paid', balance };
  return Number(row?.held ?? 0) ? { status: 'short', balance } : { status: 'not_held' };
}

/** A payment's values as its statements bind them: rows as written. */
interface PayValues {
  id: string;
  userId: number;
  scheduleId: number;
  seatId: number;
  amount: number;
  now: number;
  payment: Row;
  ledger: Row;
  event: Row;
}

const payValues = (p: HoldPayment): PayValues => ({
  id: p.payment.reservationId,
  userId: p.payment.userId,
  scheduleId: p.scheduleId,
  seatId: p.seatId,
  amount: p.payment.amount,
  now: p.now,
  payment: paymentRow(p.payment),
  ledger: ledgerRow(p.ledger),
  event: outboxRow(p.event),
});

// `held` locks the claim, then the reservation (rows are locked in the order their tables come in FROM), so a
// concurrent payment of it waits and then finds it sold. A release and an expiry lock them in that order too:
// locked the other way round, a payment racing a release of its hold deadlocked. The claim is reached by its
// primary key (the seat) in both `held` and `sold`: by reservation_id alone, a plan cached while the table's
// statistics were young sometimes ANDed in a bitmap scan of the whole live-holds index (its leading column,
// user_id, unconstrained there), and payments ran at two thirds the pace.
const payStatement = statementTemplate((v: PayValues) =>
  prepared(
    'pay_for_hold',
    sql`with held as materialized (
      select r.id from seat_claims c
        join reservations r on r.id = c.reservation_id
      where c.schedule_id = ${v.scheduleId} and c.seat_id = ${v.seatId} and c.reservation_id = ${v.id}
        and c.status = 'HELD' and c.expires_at > ${v.now}
        and r.user_id = ${v.userId} and r.status = 'HELD'
      for update
    ), debit as (
      update point_wallets set balance = balance - ${v.amount}, updated_at = ${v.now}
      where user_id = ${v.userId} and balance >= ${v.amount} and exists (select 1 from held)
      returning balance
    ), sold as (
      update seat_claims set status = 'SOLD'
      where schedule_id = ${v.scheduleId} and seat_id = ${v.seatId} and reservation_id = ${v.id}
        and status = 'HELD' and exists (select 1 from debit)
    ), confirmed as (
      update reservations set status = 'CONFIRMED', updated_at = ${v.now}
      where id = ${v.id} and status = 'HELD' and exists (select 1 from debit)
    ), payment as (${insertFrom('payments', v.payment, sql`from debit`)}),
    ledger as (${insertFrom('point_ledger', v.ledger, sql`from debit`)}),
    event as (${insertFrom('outbox', v.event, sql`from debit`)}),
    wallet as (select balance from point_wallets where user_id = ${v.userId} for update)
    select exists (select 1 from debit) as paid, exists (select 1 from held) as held,
      coalesce((select balance from debit), (select balance from wallet)) as balance`,
  ),
);

async function payInOneStatement(db: Db, p: HoldPayment): Promise<PaymentOutcome> {
  const { rows } = await db.executeQuery<OutcomeRow>(payStatement(db, payValues(p)));
  return outcomeOf(rows[0]);
}

/** The statement as a transaction of its own: after a deadlock or serialization failure it runs again. */
async function payInOneRetriedStatement(database: Database, p: HoldPayment): Promise<PaymentOutcome> {
  const rows = await inOneCall(database, payStatement(database.db, payValues(p)));
  return outcomeOf((rows as OutcomeRow[])[0]);
}

const PAY_CALL = call('pay_for_held_seat', 23);
const PAYS_CALL = call('pay_for_held_seats', 1);

/** A payment's values in the order pay_for_held_seat takes them, and pay_for_held_seats (PAYMENT_COLUMNS). */
function paymentValues(p: HoldPayment) {
  const { payment: pay, ledger: l, event: e, ...v } = payValues(p);
  return [
    ...[v.id, v.userId, v.amount, v.now, v.scheduleId, v.seatId],
    ...[pay.id, pay.reservation_id, pay.user_id, pay.amount, pay.created_at],
    ...[l.id, l.user_id, l.delta, l.reason, l.reference_id, l.created_at],
    ...eventValues(e),
  ];
}

/** A payment without an idempotency key goes in a batch when the database is busy (batched-calls.ts). */
function payByProcedure(database: Database, p: HoldPayment): Promise<PaymentOutcome> {
  return batchedCallsOf(database, PAYMENTS, () => ({
    one: (q: HoldPayment) => payAloneByProcedure(database, q),
    many: (qs: readonly HoldPayment[]) => payManyByProcedure(database, qs),
    distinct: (q: HoldPayment) => q.payment.userId,
  })).call(p);
}

async function payAloneByProcedure(database: Database, p: HoldPayment): Promise<PaymentOutcome> {
  const [rows] = await inOneCall(database, CompiledQuery.raw(PAY_CALL, paymentValues(p)));
  return outcomeOf((rows as OutcomeRow[])[0]);
}

/**
 * Payments by pay_for_held_seats (migration 0016), one per user, sent in seat order. A payment it did not write
 * is left unanswered, for batched-calls.ts to pay alone: that answer says why it was not paid (or pays it, if
 * the user has topped up since).
 */
async function payManyByProcedure(
  database: Database,
  payments: readonly HoldPayment[],
): Promise<(PaymentOutcome | undefined)[]> {
  const bySeat = [...payments].sort((a, b) => a.scheduleId - b.scheduleId || a.seatId - b.seatId);
  const [rows] = await inOneCall(
    database,
    CompiledQuery.raw(PAYS_CALL, [JSON.stringify(bySeat.map(paymentValues))]),
  );
  const paid = new Map<string, number>();
  for (const row of rows as { reservation_id: string; paid: number; balance: number | string }[])
    if (Number(row.paid)) paid.set(row.reservation_id, Number(row.balance));
  return payments.map((p) => {
    const balance = paid.get(p.payment.reservationId);
    return balance === undefined ? undefined : { status: 'paid', balance };
  });
}

class PaymentRefused extends Error {
  readonly outcome: 'short' | 'not_held';
  constructor(outcome: 'short' | 'not_held') {
    super(outcome);
    this.outcome = outcome;
  }
}

async function payStepByStep(database: Database, p: HoldPayment): Promise<PaymentOutcome> {
  try {
    return { status: 'paid', balance: await inTransaction(database, (trx) => payStepsOn(trx, p)) };
  } catch (err) {
    if (!(err instanceof PaymentRefused)) throw err;
    if (err.outcome === 'not_held') return { status: 'not_held' };
    return { status: 'short', balance: await walletBalance(database.db, p.payment.userId) };
  }
}

/** The payment's statements one by one; throws PaymentRefused at the first that finds nothing to change. */
async function payStepsOn(trx: Db, p: HoldPayment): Promise<number> {
  const { reservationId: id, userId, amount } = p.payment;
  const { now } = p;
  const refuseUnless = (r: { numUpdatedRows?: bigint }, outcome: 'short' | 'not_held') => {
    if (Number(r.numUpdatedRows ?? 0) === 0) throw new PaymentRefused(outcome);
  };
  refuseUnless(
    await trx
      .updateTable('seat_claims')
      .set({ status: 'SOLD' })
      .where('schedule_id', '=', p.scheduleId)
      .where('seat_id', '=', p.seatId)
      .where('reservation_id', '=', id)
      .where('user_id', '=', userId)
      .where('status', '=', 'HELD')
      .where('expires_at', '>', now)
      .executeTakeFirst(),
    'not_held',
  );
  refuseUnless(
    await trx
      .updateTable('point_wallets')
      .set({ balance: sql`balance - ${amount}`, updated_at: now })
      .where('user_id', '=', userId)
      .where('balance', '>=', amount)
      .executeTakeFirst(),
    'short',
  );
  refuseUnless(
    await trx
      .updateTable('reservations')
      .set({ status: 'CONFIRMED', updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'HELD')
      .executeTakeFirst(),
    'not_held',
  );
  await trx.insertInto('payments').values(paymentRow(p.payment)).execute();
  await trx.insertInto('point_ledger').values(ledgerRow(p.ledger)).execute();
  await trx.insertInto('outbox').values(outboxRow(p.event)).execute();
  return walletBalance(trx, userId);
}

async function walletBalance(db: Db, userId: number): Promise<number> {
  const r = await db
    .selectFrom('point_wallets')
    .select('balance')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(r?.balance ?? 0);
}
