// Holds racing an operator who removes and reprices the same seats: whoever commits first wins, and no hold
// ever ends up on a removed seat or at a price other than the one stored when it committed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminServices } from '../../src/compose.ts';
import type { Actor } from '../../src/domain/admin/audit.ts';
import type { DomainError } from '../../src/domain/errors.ts';
import { bookingOn } from '../support/booking.ts';
import { createTestDatabase, DIALECTS, dialectAvailable, type TestDatabase } from '../support/databases.ts';

const SEATS = 40;
const operator: Actor = { id: null, name: 'race-test' };
const codeOf = (r: PromiseSettledResult<unknown>) =>
  r.status === 'rejected' ? ((r.reason as DomainError).code ?? String(r.reason)) : 'ok';

for (const dialect of DIALECTS) {
  describe(`seat admin racing holds on ${dialect}`, async () => {
    const available = await dialectAvailable(dialect);
    let t: TestDatabase;
    before(async () => {
      if (available) t = await createTestDatabase(dialect, { max: 10, acquireTimeoutMs: 30_000 });
    });
    after(async () => t?.drop());

    test('every hold is on a seat that exists, at its stored price; refused changes changed nothing', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const b = await bookingOn(t.database);
      const admin = adminServices(t.database, b.clock);
      const concert = await admin.catalogAdmin.createConcert(
        { title: 'Race', artist: 'x', venue: 'y' },
        operator,
      );
      const schedule = await admin.catalogAdmin.createSchedule(concert.id, { startsAt: 0 }, operator);
      const seats = Array.from({ length: SEATS }, (_, i) => `s,1,${i + 1},1000`);
      await admin.catalogAdmin.importSeatMapCsv(
        schedule.id,
        ['section,row,label,price', ...seats].join('\n'),
        operator,
      );
      await admin.catalogAdmin.publishConcert(concert.id, true, operator);
      await admin.catalogAdmin.publishSchedule(schedule.id, true, operator);

      const holds = Array.from({ length: SEATS }, (_, i) =>
        b.reservations.hold({ userId: (i % 20) + 1, scheduleId: schedule.id, seatId: i + 1 }),
      );
      // Even seats are removed, odd ones repriced, all while their holds are in flight.
      const changes = Array.from({ length: SEATS }, (_, i) =>
        i % 2 === 0
          ? admin.catalogAdmin.removeSeat(schedule.id, i + 1, operator)
          : admin.catalogAdmin.repriceSeat(schedule.id, i + 1, 2000, operator),
      );
      const [held, changed] = await Promise.all([Promise.allSettled(holds), Promise.allSettled(changes)]);

      const stored = new Map((await admin.catalogAdmin.seats(schedule.id)).seats.map((s) => [s.id, s]));
      for (let i = 0; i < SEATS; i++) {
        const seatId = i + 1;
        const hold = held[i];
        const change = codeOf(changed[i]);
        if (hold.status === 'fulfilled') {
          assert.ok(stored.has(seatId), `seat ${seatId} was held, so it cannot have been removed`);
          assert.equal(
            hold.value.price,
            stored.get(seatId)?.price,
            `seat ${seatId} held at its stored price`,
          );
          if (change === 'ok')
            assert.equal(hold.value.price, 2000, `seat ${seatId}: repriced before the hold`);
          else assert.equal(change, 'SEAT_IN_USE');
        } else {
          assert.equal(codeOf(hold), 'SEAT_NOT_FOUND', `seat ${seatId}: only a removal makes a hold fail`);
          assert.equal(change, 'ok');
          assert.ok(!stored.has(seatId));
        }
        if (change === 'SEAT_IN_USE' && i % 2 === 1) assert.equal(stored.get(seatId)?.price, 1000);
      }
      const claims = await t.database.db
        .selectFrom('seat_claims')
        .select('seat_id')
        .where('schedule_id', '=', schedule.id)
        .execute();
      for (const c of claims) assert.ok(stored.has(Number(c.seat_id)), `claim on removed seat ${c.seat_id}`);
    });
  });
}
