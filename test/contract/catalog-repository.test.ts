import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { catalogRepository } from '../../src/db/catalog-repository.ts';
import { compiledRead } from '../../src/db/compiled-read.ts';
import { seedDemoData } from '../../src/db/seed.ts';
import { createTestDatabase, DIALECTS, dialectAvailable, type TestDatabase } from '../support/databases.ts';

const size = { users: 30, schedules: 10, schedulesPerConcert: 4, seatsPerSchedule: 10 };
const NOW = Date.UTC(2026, 10, 24);

for (const dialect of DIALECTS) {
  describe(`catalog repository on ${dialect}`, async () => {
    const available = await dialectAvailable(dialect);
    let t: TestDatabase;
    before(async () => {
      if (!available) return;
      t = await createTestDatabase(dialect);
      await seedDemoData(t.database.db, size);
    });
    after(async () => t?.drop());

    test('seeding twice adds nothing the second time', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const again = await seedDemoData(t.database.db, size);
      assert.deepEqual(again, { concerts: 0, schedules: 0, users: 0, point_wallets: 0 });
      const users = await t.database.db
        .selectFrom('users')
        .select((e) => e.fn.countAll().as('n'))
        .executeTakeFirst();
      assert.equal(Number(users?.n), 30);
    });

    test('seeding a larger size fills only the missing ids', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const more = await seedDemoData(t.database.db, { ...size, users: 35, schedules: 12 });
      assert.deepEqual(more, { concerts: 0, schedules: 2, users: 5, point_wallets: 5 });
      await t.database.db.deleteFrom('schedules').where('id', '>', 10).execute();
    });

    test('starting points are granted through the ledger, so balance equals the ledger sum', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      await seedDemoData(t.database.db, { ...size, users: 38, startingPoints: 250_000 });
      const wallets = await t.database.db
        .selectFrom('point_wallets')
        .select(['user_id', 'balance'])
        .where('user_id', '>', 35)
        .orderBy('user_id')
        .execute();
      assert.deepEqual(
        wallets.map((w) => [w.user_id, Number(w.balance)]),
        [
          [36, 250_000],
          [37, 250_000],
          [38, 250_000],
        ],
      );
      const ledger = await t.database.db
        .selectFrom('point_ledger')
        .select((e) => [e.fn.sum<number>('delta').as('sum'), e.fn.countAll<number>().as('rows')])
        .where('user_id', '>', 35)
        .executeTakeFirstOrThrow();
      assert.equal(Number(ledger.sum), 750_000);
      assert.equal(Number(ledger.rows), 3);
    });

    test('concerts page in id order after a cursor', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const repo = catalogRepository(t.database.db);
      const first = await repo.listConcerts(0, 2);
      assert.deepEqual(
        first.map((c) => c.id),
        [1, 2],
      );
      const rest = await repo.listConcerts(2, 10);
      assert.deepEqual(
        rest.map((c) => c.id),
        [3],
      );
      assert.equal(typeof first[0].title, 'string');
    });

    test('schedule 1 belongs to concert 1 and a lookup returns numbers', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const repo = catalogRepository(t.database.db);
      const s = await repo.findSchedule(1);
      assert.equal(s?.concertId, 1);
      assert.equal(typeof s?.startsAt, 'number');
      assert.equal(s?.seatCount, 10);
      assert.equal(await repo.findSchedule(999), undefined);
    });

    test('free-seat counts and taken seats reflect live holds and sales only', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const db = t.database.db;
      const claim = (seat: number, status: string, expiresAt: number) => ({
        schedule_id: 2,
        seat_id: seat,
        reservation_id: `r-${seat}`,
        user_id: 1,
        status,
        expires_at: expiresAt,
      });
      await db
        .insertInto('seat_claims')
        .values([claim(1, 'HELD', NOW + 60_000), claim(2, 'HELD', NOW - 1), claim(3, 'SOLD', NOW - 1)])
        .execute();
      const repo = catalogRepository(db);
      const schedules = await repo.listSchedulesWithAvailability(1, NOW);
      assert.deepEqual(
        schedules.map((s) => [s.id, s.availableSeats]),
        [
          [1, 10],
          [2, 8],
          [3, 10],
          [4, 10],
        ],
      );
      assert.equal((await repo.findScheduleWithAvailability(2, NOW))?.availableSeats, 8);
      assert.equal((await repo.findScheduleWithAvailability(2, NOW + 120_000))?.availableSeats, 9);
      assert.equal((await repo.findScheduleWithAvailability(999, NOW))?.availableSeats, undefined);
      const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
      assert.deepEqual((await repo.takenSeats(2, NOW)).sort(byId), [
        { id: 1, status: 'HELD' },
        { id: 3, status: 'SOLD' },
      ]);
      assert.deepEqual(await repo.takenSeats(2, NOW + 120_000), [{ id: 3, status: 'SOLD' }]);
    });

    test('a read compiled once binds each call its own values; one it cannot template is built every call', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const db = t.database.db;
      const ids = (rows: Array<{ id: number }>) => rows.map((r) => Number(r.id));
      const between = compiledRead(db, (from: number, to: number) =>
        db.selectFrom('concerts').select('id').where('id', '>=', from).where('id', '<=', to).orderBy('id'),
      );
      assert.deepEqual(ids(await between(1, 2)), [1, 2]);
      assert.deepEqual(ids(await between(2, 3)), [2, 3]);
      assert.deepEqual(ids(await between(3, 1)), []);
      const twice = compiledRead(db, (id: number) =>
        db.selectFrom('concerts').select('id').where('id', '>=', id).where('id', '<=', id),
      );
      assert.deepEqual(ids(await twice(2)), [2]);
      assert.deepEqual(ids(await twice(3)), [3]);
      const computed = compiledRead(db, (id: number) =>
        db
          .selectFrom('concerts')
          .select('id')
          .where('id', '=', id + 1),
      );
      assert.deepEqual(ids(await computed(1)), [2]);
      assert.deepEqual(ids(await computed(2)), [3]);
    });

    test('the schema refuses a second claim on the same seat', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      const row = {
        schedule_id: 5,
        seat_id: 7,
        reservation_id: 'a',
        user_id: 1,
        status: 'HELD',
        expires_at: NOW,
      };
      await t.database.db.insertInto('seat_claims').values(row).execute();
      await assert.rejects(
        t.database.db
          .insertInto('seat_claims')
          .values({ ...row, reservation_id: 'b', user_id: 2 })
          .execute(),
      );
    });

    test('a wallet balance cannot go negative', {
      skip: !available && `${dialect} not reachable`,
    }, async () => {
      await assert.rejects(
        t.database.db.updateTable('point_wallets').set({ balance: -1 }).where('user_id', '=', 1).execute(),
      );
    });
  });
}
