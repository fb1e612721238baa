import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { bookingProcedures } from '../../src/db/migrations/0010-booking-procedures.ts';
import { claimsBySeat } from '../../src/db/migrations/0011-claims-by-seat.ts';
import { holdClaimsNewKey } from '../../src/db/migrations/0012-hold-claims-new-key.ts';
import { liveHoldBound } from '../../src/db/migrations/0013-live-hold-bound.ts';
import { holdBoundOnWallet } from '../../src/db/migrations/0014-hold-bound-on-wallet.ts';
import { holdBatches } from '../../src/db/migrations/0015-hold-batches.ts';
import { paymentBatches } from '../../src/db/migrations/0016-payment-batches.ts';
import { bookingOn, MAX_HOLDS_PER_USER } from '../support/booking.ts';
import { createTestDatabase, DIALECTS, dialectAvailable, type TestDatabase } from '../support/databases.ts';

// Migrations 0010 to 0016 create the hold and payment procedures where the dialect runs them, and are
// reversible, newest first.
for (const dialect of DIALECTS) {
  describe(`booking procedures migration on ${dialect}`, async () => {
    const available = await dialectAvailable(dialect);
    const skip = !available && `${dialect} not reachable`;
    let t: TestDatabase;
    before(async () => {
      if (available) t = await createTestDatabase(dialect);
    });
    after(async () => t?.drop());

    const procedures = async () => {
      if (!t.database.capabilities.storedProcedures) return 0;
      const { rows } = await sql<{ n: number }>`select count(*) as n from information_schema.routines
        where routine_schema = database() and routine_type = 'PROCEDURE'`.execute(t.database.db);
      return Number(rows[0].n);
    };

    test('down drops what up made, up again makes it, and holds and payments work after', {
      skip,
    }, async () => {
      const migrations = [
        bookingProcedures,
        claimsBySeat,
        holdClaimsNewKey,
        liveHoldBound,
        holdBoundOnWallet,
        holdBatches,
        paymentBatches,
      ].map((m) => m(t.database.capabilities));
      const made = t.database.capabilities.storedProcedures ? 6 : 0;
      assert.equal(await procedures(), made);
      // Holds made before: migration 0013 starts each user's bound of live holds from them.
      const before = await bookingOn(t.database);
      for (let seat = 1; seat <= MAX_HOLDS_PER_USER; seat++)
        await before.reservations.hold({ userId: 6, scheduleId: 4, seatId: seat });
      for (const m of [...migrations].reverse()) await m.down?.(t.database.db);
      assert.equal(await procedures(), 0);
      for (const m of migrations) await m.up(t.database.db);
      assert.equal(await procedures(), made);
      const b = await bookingOn(t.database);
      await b.points.charge(5, 1_000_000);
      const held = await b.reservations.hold({ userId: 5, scheduleId: 3, seatId: 4 });
      const { balance } = await b.payments.pay(5, held.id);
      assert.equal(balance, 1_000_000 - held.price);
      assert.equal((await b.store.findReservation(held.id))?.status, 'CONFIRMED');
      // Holds arriving together (a batch on MariaDB, migration 0015).
      const together = await Promise.all(
        [7, 8, 9, 10].map((userId) => b.reservations.hold({ userId, scheduleId: 5, seatId: userId })),
      );
      assert.deepEqual(
        together.map((r) => r.userId),
        [7, 8, 9, 10],
      );
      // Payments arriving together (a batch on MariaDB, migration 0016).
      for (const r of together) await b.points.charge(r.userId, r.price);
      const paid = await Promise.all(together.map((r) => b.payments.pay(r.userId, r.id)));
      assert.deepEqual(
        paid.map((p) => p.balance),
        [0, 0, 0, 0],
      );
      await assert.rejects(b.reservations.hold({ userId: 6, scheduleId: 4, seatId: 50 }), {
        code: 'HOLD_LIMIT_REACHED',
      });
    });
  });
}
