import { procedureMigration } from './0014-hold-bound-on-wallet.ts';

// MariaDB's payments of held seats, many in one call: `pay_for_held_seats(p_payments)` takes a JSON array of
// payments (one array of values each, in the order of PAYMENT_COLUMNS), at most one per user (batched-calls.ts
// keeps a user's payments in different calls), sorted by seat, and pays them in one transaction of six
// statements whatever their number, as migration 0015 does for holds. A payment it does not write is paid again
// alone, by pay_for_held_seat, whose answer (not held, short of points) is exact.
// - One multi-table UPDATE sells each claim and debits its wallet where pay_for_held_seat would: the claim held
//   by this reservation and user, not lapsed, the reservation still HELD, the wallet holding the amount. It
//   lowers the wallet's bound of live holds too (migration 0014). Its rows are locked in the order given, claim
//   then wallet for each payment (the order of a payment alone, migration 0011), claims in seat order, so two
//   batches do not lock claims crosswise. Each wallet is reached once (one payment per user).
// - The payments of this call are then the claims sold whose reservation is still HELD: no other transaction
//   can sell a claim this one holds locked, and a reservation is confirmed in the same transaction as its claim
//   is sold (here, last). Each such payment writes its payment, ledger and event rows, then its reservation is
//   confirmed.
// - Answered per payment: whether its payment row (by its own id) was written, and the wallet's balance, which
//   is the balance after it (one payment per user in a call).
// Needs JSON_TABLE (MariaDB 10.6, MySQL 8.0.4).

/** The values of one payment in p_payments, in this order: pay_for_held_seat's parameters. */
export const PAYMENT_COLUMNS = {
  reservation_id: 'varchar(36)',
  user_id: 'integer',
  amount: 'bigint',
  now: 'bigint',
  schedule_id: 'integer',
  seat_id: 'integer',
  payment_id: 'varchar(36)',
  payment_reservation_id: 'varchar(36)',
  payment_user_id: 'integer',
  payment_amount: 'bigint',
  payment_created_at: 'bigint',
  ledger_id: 'varchar(36)',
  ledger_user_id: 'integer',
  delta: 'bigint',
  reason: 'varchar(16)',
  reference_id: 'varchar(36)',
  ledger_created_at: 'bigint',
  event_id: 'varchar(36)',
  aggregate_id: 'varchar(64)',
  type: 'varchar(64)',
  payload: 'text',
  event_created_at: 'bigint',
  published_at: 'bigint',
} as const;

const PAYMENTS = `json_table(p_payments, '$[*]' columns (${Object.entries(PAYMENT_COLUMNS)
  .map(([c, type], i) => `${c} ${type} path '$[${i}]'`)
  .join(', ')})) h`;
const WALLET = 'straight_join point_wallets w force index (primary) on w.user_id = h.user_id';
/** The payments of this call: claims sold whose reservation is not confirmed yet. */
const PAID_HERE = `${PAYMENTS} straight_join seat_claims c force index (primary)
    on c.schedule_id = h.schedule_id and c.seat_id = h.seat_id and c.reservation_id = h.reservation_id
    straight_join reservations r force index (primary) on r.id = h.reservation_id`;
const IS_PAID_HERE = `c.status = 'SOLD' and r.status = 'HELD'`;

export const payForHeldSeats = `create procedure pay_for_held_seats(p_payments json)
begin
  declare exit handler for sqlexception begin rollback; resignal; end;
  start transaction;
  update ${PAID_HERE} ${WALLET}
    set c.status = 'SOLD', w.balance = w.balance - h.amount, w.updated_at = h.now,
      w.hold_bound = if(w.hold_bound > 0, w.hold_bound - 1, 0)
    where c.user_id = h.user_id and c.status = 'HELD' and c.expires_at > h.now
      and r.status = 'HELD' and w.balance >= h.amount;
  insert into payments (id, reservation_id, user_id, amount, created_at)
    select h.payment_id, h.payment_reservation_id, h.payment_user_id, h.payment_amount, h.payment_created_at
    from ${PAID_HERE} where ${IS_PAID_HERE};
  insert into point_ledger (id, user_id, delta, reason, reference_id, created_at)
    select h.ledger_id, h.ledger_user_id, h.delta, h.reason, h.reference_id, h.ledger_created_at
    from ${PAID_HERE} where ${IS_PAID_HERE};
  insert into outbox (event_id, aggregate_id, type, payload, created_at, published_at)
    select h.event_id, h.aggregate_id, h.type, h.payload, h.event_created_at, h.published_at
    from ${PAID_HERE} where ${IS_PAID_HERE};
  update ${PAID_HERE} set r.status = 'CONFIRMED', r.updated_at = h.now where ${IS_PAID_HERE};
  select h.reservation_id, p.id is not null as paid, w.balance
    from ${PAYMENTS} ${WALLET} left join payments p on p.id = h.payment_id;
  commit;
end`;

export const paymentBatches = procedureMigration('pay_for_held_seats', payForHeldSeats);
