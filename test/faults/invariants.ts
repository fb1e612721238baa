import { type RawBuilder, sql } from 'kysely';
import { createDatabase } from '../../src/db/database.ts';

// What must hold in the database after any fault: money adds up, no seat has two owners, no payment is half done.

export interface BookingTotals {
  payments: number;
  holds: number;
  charges: number;
}

export interface Violations {
  /** Wallets whose balance is not the sum of their ledger. */
  unbalancedWallets: unknown[];
  /** Seats that more than one live reservation (held or confirmed) claims. */
  seatsWithTwoOwners: unknown[];
  /** Live reservations their seat's claim does not name, or names with another owner or state. */
  claimsOutOfStep: unknown[];
  /** Confirmed reservations without exactly one payment and one debit of the price, or payments of unconfirmed ones. */
  halfAppliedPayments: unknown[];
}

export async function checkBookings(
  dbUrl: string,
): Promise<{ violations: Violations; totals: BookingTotals }> {
  const database = createDatabase(dbUrl, { max: 2, acquireTimeoutMs: 10_000 });
  const rowsOf = async (query: RawBuilder<unknown>) => (await query.execute(database.db)).rows;
  const now = Date.now();
  try {
    const unbalancedWallets = await rowsOf(
      sql`SELECT w.user_id, w.balance, COALESCE(SUM(l.delta), 0) AS ledger
            FROM point_wallets w LEFT JOIN point_ledger l ON l.user_id = w.user_id
           GROUP BY w.user_id, w.balance
          HAVING w.balance <> COALESCE(SUM(l.delta), 0)`,
    );
    const live = sql`(r.status = 'CONFIRMED' OR (r.status = 'HELD' AND r.expires_at > ${now}))`;
    const seatsWithTwoOwners = await rowsOf(
      sql`SELECT r.schedule_id, r.seat_id, COUNT(*) AS owners FROM reservations r
           WHERE ${live} GROUP BY r.schedule_id, r.seat_id HAVING COUNT(*) > 1`,
    );
    const claimsOutOfStep = await rowsOf(
      sql`SELECT r.id, r.status, c.reservation_id, c.status AS claim_status FROM reservations r
            LEFT JOIN seat_claims c ON c.schedule_id = r.schedule_id AND c.seat_id = r.seat_id
           WHERE ${live}
             AND (c.reservation_id IS NULL OR c.reservation_id <> r.id OR c.user_id <> r.user_id
                  OR c.status <> CASE WHEN r.status = 'CONFIRMED' THEN 'SOLD' ELSE 'HELD' END)`,
    );
    const halfAppliedPayments = [
      ...(await rowsOf(
        sql`SELECT r.id, r.price,
                   (SELECT COUNT(*) FROM payments p WHERE p.reservation_id = r.id AND p.amount = r.price) AS payments,
                   (SELECT COUNT(*) FROM point_ledger l WHERE l.reference_id = r.id AND l.reason = 'PAYMENT'
                       AND l.delta = -r.price) AS debits
              FROM reservations r
             WHERE r.status = 'CONFIRMED'
               AND ((SELECT COUNT(*) FROM payments p WHERE p.reservation_id = r.id AND p.amount = r.price) <> 1
                 OR (SELECT COUNT(*) FROM point_ledger l WHERE l.reference_id = r.id AND l.reason = 'PAYMENT'
                       AND l.delta = -r.price) <> 1)`,
      )),
      ...(await rowsOf(
        sql`SELECT p.id, p.reservation_id, r.status FROM payments p
              LEFT JOIN reservations r ON r.id = p.reservation_id
             WHERE r.id IS NULL OR r.status <> 'CONFIRMED'`,
      )),
      ...(await rowsOf(
        sql`SELECT l.id, l.reference_id FROM point_ledger l
             WHERE l.reason = 'PAYMENT'
               AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.reservation_id = l.reference_id)`,
      )),
    ];
    const [totals] = await rowsOf(
      sql`SELECT (SELECT COUNT(*) FROM payments) AS payments,
                 (SELECT COUNT(*) FROM reservations) AS holds,
                 (SELECT COUNT(*) FROM point_ledger WHERE reason = 'CHARGE') AS charges`,
    );
    const t = totals as Record<string, unknown>;
    return {
      violations: { unbalancedWallets, seatsWithTwoOwners, claimsOutOfStep, halfAppliedPayments },
      totals: { payments: Number(t.payments), holds: Number(t.holds), charges: Number(t.charges) },
    };
  } finally {
    await database.close();
  }
}
