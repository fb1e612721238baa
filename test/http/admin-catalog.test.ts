import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminClient, adminEnv } from '../support/admin.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

const seatMap = {
  sections: [
    {
      name: 'Floor',
      price: 150_000,
      rows: [
        { label: 'A', seats: ['1', '2', { label: '3', price: 170_000 }] },
        { label: 'B', seats: ['1', '2'] },
      ],
    },
    {
      name: 'Balcony',
      rows: [
        {
          label: '1',
          seats: [
            { label: '1', price: 60_000 },
            { label: '2', price: 60_000 },
          ],
        },
      ],
    },
  ],
};

interface PublicSeat {
  id: number;
  seatId: number;
  price: number;
  grade: string;
  section?: string;
  row?: string;
  label?: string;
}

for (const [i, dialect] of DIALECTS.entries())
  describe(`catalog admin over HTTP on ${dialect}`, {
    skip: !reachable[i] && `${dialect} not reachable`,
  }, () => {
    let t: TestApp;
    let fan: Record<string, string>;
    before(async () => {
      t = await makeTestApp(dialect, adminEnv);
      fan = await t.admit(1);
    });
    after(async () => t?.close());
    const admin = adminClient(() => t);
    const get = (url: string) => t.app.inject({ method: 'GET', url, headers: fan });
    const holdAs = async (userId: number, scheduleId: number, seatId: number) =>
      t.app.inject({
        method: 'POST',
        url: '/api/reservations',
        headers: await t.admit(userId),
        payload: { userId, concertScheduleId: scheduleId, seatId },
      });

    /** A concert with one schedule whose seat map is `seatMap`, both published. */
    async function publishedConcert(title: string) {
      const concert = (
        await admin('POST', '/concerts', { title, artist: 'Day6', venue: 'KSPO Dome' })
      ).json();
      const schedule = (
        await admin('POST', `/concerts/${concert.id}/schedules`, { startsAt: '2027-05-01T19:00:00Z' })
      ).json();
      assert.equal((await admin('PUT', `/schedules/${schedule.id}/seat-map`, seatMap)).statusCode, 200);
      assert.equal((await admin('POST', `/concerts/${concert.id}/publish`)).statusCode, 200);
      assert.equal((await admin('POST', `/schedules/${schedule.id}/publish`)).statusCode, 200);
      return { concertId: concert.id as number, scheduleId: schedule.id as number };
    }

    const seatsOf = async (scheduleId: number) =>
      (await admin('GET', `/schedules/${scheduleId}/seats`)).json().seats as Array<{
        seatId: number;
        section: string;
        row: string;
        label: string;
        price: number;
        status: string;
      }>;

    test('a concert, schedule and JSON seat map appear on the public routes only once published', async () => {
      const created = await admin('POST', '/concerts', {
        title: 'Day6 Live',
        artist: 'Day6',
        venue: 'KSPO Dome',
      });
      assert.equal(created.statusCode, 201, created.body);
      const concert = created.json();
      assert.equal(concert.published, false);
      assert.equal(concert.id, 4, 'after the 3 demo concerts');

      const sched = await admin('POST', `/concerts/${concert.id}/schedules`, {
        startsAt: '2027-05-01T19:00:00+09:00',
        venue: 'Inspire Arena',
      });
      assert.equal(sched.statusCode, 201, sched.body);
      const schedule = sched.json();
      assert.equal(schedule.id, 13, 'after the 12 demo schedules');
      assert.equal(schedule.startsAt, '2027-05-01T10:00:00.000Z');
      assert.equal(schedule.seatMap, 'stored');
      assert.equal(schedule.seatCount, 0);

      const imported = await admin('PUT', `/schedules/${schedule.id}/seat-map`, seatMap);
      assert.equal(imported.statusCode, 200, imported.body);
      assert.deepEqual(imported.json(), {
        scheduleId: schedule.id,
        seatCount: 7,
        added: 7,
        removed: 0,
        repriced: 0,
        unchanged: 0,
      });
      const stored = await seatsOf(schedule.id);
      assert.deepEqual(
        stored.map((s) => [s.seatId, s.section, s.row, s.label, s.price, s.status]),
        [
          [1, 'Floor', 'A', '1', 150_000, 'FREE'],
          [2, 'Floor', 'A', '2', 150_000, 'FREE'],
          [3, 'Floor', 'A', '3', 170_000, 'FREE'],
          [4, 'Floor', 'B', '1', 150_000, 'FREE'],
          [5, 'Floor', 'B', '2', 150_000, 'FREE'],
          [6, 'Balcony', '1', '1', 60_000, 'FREE'],
          [7, 'Balcony', '1', '2', 60_000, 'FREE'],
        ],
      );

      const listed = async () =>
        (await get('/api/concerts?limit=100')).json().concerts.map((c: { id: number }) => c.id);
      assert.deepEqual(await listed(), [1, 2, 3], 'unpublished: invisible');
      assert.equal((await get(`/api/concerts/${concert.id}/schedules`)).statusCode, 404);

      await admin('POST', `/concerts/${concert.id}/publish`);
      assert.deepEqual(await listed(), [1, 2, 3, 4]);
      assert.deepEqual((await get(`/api/concerts/${concert.id}/schedules`)).json().schedules, []);
      assert.equal(
        (await get(`/api/schedules/${schedule.id}`)).statusCode,
        404,
        'schedule still unpublished',
      );
      assert.equal((await holdAs(2, schedule.id, 1)).statusCode, 404, 'nor can its seats be held');

      await admin('POST', `/schedules/${schedule.id}/publish`);
      const schedules = (await get(`/api/concerts/${concert.id}/schedules`)).json().schedules;
      assert.deepEqual(schedules, [
        {
          id: schedule.id,
          concertId: concert.id,
          startsAt: '2027-05-01T10:00:00.000Z',
          seatCount: 7,
          availableSeats: 7,
          available: true,
        },
      ]);
      const seats: PublicSeat[] = (
        await get(`/api/concerts/${concert.id}/schedules/${schedule.id}/seats/available`)
      ).json().seats;
      assert.equal(seats.length, 7);
      assert.deepEqual(seats[2], {
        id: 3,
        seatId: 3,
        number: 3,
        grade: 'Floor',
        price: 170_000,
        section: 'Floor',
        row: 'A',
        label: '3',
      });

      await admin('POST', `/concerts/${concert.id}/unpublish`);
      assert.deepEqual(await listed(), [1, 2, 3]);
      assert.equal((await get(`/api/schedules/${schedule.id}`)).statusCode, 404, 'hidden with its concert');
      await admin('POST', `/concerts/${concert.id}/publish`);
      await admin('POST', `/schedules/${schedule.id}/unpublish`);
      assert.deepEqual((await get(`/api/concerts/${concert.id}/schedules`)).json().schedules, []);
    });

    test('every change is in the audit log with who, when and before/after', async () => {
      const { concertId } = await publishedConcert('Audited');
      const edited = await admin('PATCH', `/concerts/${concertId}`, { title: 'Audited (2nd show added)' });
      assert.equal(edited.statusCode, 200);
      assert.equal(edited.json().title, 'Audited (2nd show added)');
      const entries = (await admin('GET', `/audit?entity=concert:${concertId}`)).json().entries;
      assert.deepEqual(
        entries.map((e: { action: string }) => e.action),
        ['concert.edit', 'concert.publish', 'concert.create'],
      );
      const [edit, publish, create] = entries;
      assert.equal(edit.actor.name, 'bootstrap');
      assert.equal(edit.at, new Date(t.clock.now()).toISOString());
      assert.equal(edit.before.title, 'Audited');
      assert.equal(edit.after.title, 'Audited (2nd show added)');
      assert.deepEqual([publish.before.published, publish.after.published], [false, true]);
      assert.equal(create.before, null);
      assert.equal(create.after.title, 'Audited');

      const imports = (await admin('GET', '/audit?entity=seat-map&limit=1')).json().entries;
      assert.equal(imports[0].action, 'seat-map.import');
      assert.equal(imports[0].before.seatCount, 0);
      assert.equal(imports[0].after.seatCount, 7);
      assert.deepEqual(imports[0].after.sections[1], {
        name: 'Balcony',
        seats: 2,
        minPrice: 60_000,
        maxPrice: 60_000,
      });
    });

    test('CSV import: seats in line order; bad lines are reported by number and nothing changes', async () => {
      const { scheduleId } = await publishedConcert('CSV show');
      const bad = [
        'section,row,label,price',
        'R,1,1,80000',
        'R,1,2,eighty',
        'R,1,1,80000',
        '"R, left",1,',
        'R,,3,80000',
        'R,1,"4,5",1000',
        '',
      ].join('\n');
      const refused = await admin('PUT', `/schedules/${scheduleId}/seat-map/csv`, bad);
      assert.equal(refused.statusCode, 422, refused.body);
      const { code, details } = refused.json().error;
      assert.equal(code, 'SEAT_MAP_INVALID');
      assert.deepEqual(
        details.problems.map((p: { line: number }) => p.line),
        [3, 4, 5, 6],
      );
      assert.match(details.problems[1].message, /already on line 2/);
      assert.equal((await seatsOf(scheduleId)).length, 7, 'all or nothing');

      const noHeader = await admin('PUT', `/schedules/${scheduleId}/seat-map/csv`, 'R,1,1,80000\n');
      assert.equal(noHeader.statusCode, 422);
      assert.equal(noHeader.json().error.details.problems[0].line, 1);

      const good = 'section,row,label,price\r\nR,1,1,80000\r\nR,1,2,80000\r\n"R, left",1,1,75000\r\n';
      const res = await admin('PUT', `/schedules/${scheduleId}/seat-map/csv`, good);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), {
        scheduleId,
        seatCount: 3,
        added: 3,
        removed: 7,
        repriced: 0,
        unchanged: 0,
      });
      assert.deepEqual(
        (await seatsOf(scheduleId)).map((s) => [s.seatId, s.section, s.label, s.price]),
        [
          [8, 'R', '1', 80_000],
          [9, 'R', '2', 80_000],
          [10, 'R, left', '1', 75_000],
        ],
        'removed seats keep their ids; new ones get fresh ids',
      );
      const badJson = await admin('PUT', `/schedules/${scheduleId}/seat-map`, {
        sections: [{ name: 'X', rows: [{ label: 'A', seats: ['1', { label: '2', price: 5 }] }] }],
      });
      assert.equal(badJson.statusCode, 422);
      assert.equal(badJson.json().error.details.problems[0].path, 'sections[0].rows[0].seats[0]');
    });

    test('a held seat cannot be removed or repriced (409 SEAT_IN_USE); a free one can', async () => {
      const { scheduleId } = await publishedConcert('Held seats');
      const held = await holdAs(3, scheduleId, 3);
      assert.equal(held.statusCode, 200, held.body);
      assert.equal(held.json().price, 170_000, 'the price the operator entered');

      for (const res of [
        await admin('PATCH', `/schedules/${scheduleId}/seats/3`, { price: 1 }),
        await admin('DELETE', `/schedules/${scheduleId}/seats/3`),
        await admin('PUT', `/schedules/${scheduleId}/sections/Floor/price`, { price: 100_000 }),
        await admin('PUT', `/schedules/${scheduleId}/seat-map`, {
          sections: [{ name: 'Floor', price: 150_000, rows: [{ label: 'A', seats: ['1'] }] }],
        }),
      ]) {
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(res.json().error.code, 'SEAT_IN_USE');
        assert.deepEqual(res.json().error.details.seats, [{ seatId: 3, status: 'HELD' }]);
      }
      const seats = await seatsOf(scheduleId);
      assert.equal(seats.length, 7, 'nothing removed');
      assert.deepEqual(
        seats.map((s) => s.price),
        [150_000, 150_000, 170_000, 150_000, 150_000, 60_000, 60_000],
        'nothing repriced, not even the free seats of the section',
      );
      assert.equal(seats[2].status, 'HELD');

      const repriced = await admin('PATCH', `/schedules/${scheduleId}/seats/1`, { price: 140_000 });
      assert.equal(repriced.statusCode, 200, repriced.body);
      assert.equal(repriced.json().price, 140_000);
      assert.equal((await admin('DELETE', `/schedules/${scheduleId}/seats/2`)).statusCode, 204);
      const balcony = await admin('PUT', `/schedules/${scheduleId}/sections/Balcony/price`, {
        price: 65_000,
      });
      assert.deepEqual(balcony.json(), { section: 'Balcony', price: 65_000, seats: 2, repriced: 2 });
      const keep = await admin('PUT', `/schedules/${scheduleId}/seat-map`, {
        sections: [{ name: 'Floor', rows: [{ label: 'A', seats: [{ label: '3', price: 170_000 }] }] }],
      });
      assert.equal(keep.statusCode, 200, keep.body);
      assert.equal(keep.json().removed, 5, 'a map that keeps the held seat as it is may drop free ones');

      const audit = (await admin('GET', `/audit?entity=seat:${scheduleId}:1`)).json().entries;
      assert.equal(audit[0].action, 'seat.reprice');
      assert.equal(audit[0].before.price, 150_000);
      assert.equal(audit[0].after.price, 140_000);
      const publicSeats = (await get(`/api/schedules/${scheduleId}`)).json();
      assert.equal(publicSeats.seatCount, 1);
      assert.equal(publicSeats.availableSeats, 0);
    });

    test('a fan holds and pays an operator-entered seat at its entered price; a sold seat stays put', async () => {
      const { concertId, scheduleId } = await publishedConcert('Paid');
      const hold = await holdAs(5, scheduleId, 6);
      assert.equal(hold.statusCode, 200, hold.body);
      const r = hold.json();
      assert.equal(r.price, 60_000);
      const headers = await t.admit(5);
      await t.app.inject({
        method: 'POST',
        url: '/api/users/5/points/charge',
        headers,
        payload: { amount: 100_000 },
      });
      const paid = await t.app.inject({
        method: 'POST',
        url: '/api/payments',
        headers,
        payload: { userId: 5, reservationId: r.reservationId },
      });
      assert.equal(paid.statusCode, 200, paid.body);
      assert.equal(paid.json().amount, 60_000);
      assert.equal(paid.json().balance, 40_000);

      const available = (
        await get(`/api/concerts/${concertId}/schedules/${scheduleId}/seats/available`)
      ).json().seats;
      assert.ok(!available.some((s: PublicSeat) => s.id === 6));
      const sold = await admin('PATCH', `/schedules/${scheduleId}/seats/6`, { price: 1 });
      assert.equal(sold.statusCode, 409);
      assert.deepEqual(sold.json().error.details.seats, [{ seatId: 6, status: 'SOLD' }]);
      assert.equal((await holdAs(6, scheduleId, 6)).json().error.code, 'SEAT_ALREADY_RESERVED');
      const gone = await holdAs(6, scheduleId, 99);
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json().error.code, 'SEAT_NOT_FOUND');
    });

    test('the demo stays: its seats are implicit, its concerts editable, its seat map not replaceable', async () => {
      const demo = (await get('/api/concerts/1/schedules/1/seats/available')).json().seats;
      assert.equal(demo.length, 10);
      assert.deepEqual(Object.keys(demo[0]).sort(), ['grade', 'id', 'number', 'price', 'seatId']);
      const edited = await admin('PATCH', '/concerts/2', { title: 'Renamed demo' });
      assert.equal(edited.statusCode, 200);
      const concerts = (await get('/api/concerts')).json().concerts;
      assert.equal(concerts.find((c: { id: number }) => c.id === 2).title, 'Renamed demo');
      const replaced = await admin('PUT', '/schedules/1/seat-map', seatMap);
      assert.equal(replaced.statusCode, 409);
      assert.equal(replaced.json().error.code, 'SEAT_MAP_NOT_EDITABLE');
      const view = (await admin('GET', '/schedules/1')).json();
      assert.equal(view.seatMap, 'tiered');
      assert.equal(view.published, true);
      assert.equal((await holdAs(9, 1, 10)).statusCode, 200, 'demo seats are still held by seat id');
    });

    test('bad input is a 400 in the one error format; unknown ids are 404', async () => {
      for (const [method, path, body] of [
        ['POST', '/concerts', { title: '', artist: 'x', venue: 'y' }],
        ['POST', '/concerts', { title: 'x', artist: 'x', venue: 'y', extra: 1 }],
        ['POST', '/concerts/1/schedules', { startsAt: 'tomorrow' }],
        ['PATCH', '/concerts/1', {}],
        ['PATCH', '/schedules/1/seats/1', { price: -1 }],
      ] as const) {
        const res = await admin(method, path, body);
        assert.equal(res.statusCode, 400, `${method} ${path} ${res.body}`);
        assert.equal(res.json().error.code, 'VALIDATION_FAILED');
      }
      assert.equal((await admin('GET', '/concerts/999')).json().error.code, 'CONCERT_NOT_FOUND');
      assert.equal((await admin('POST', '/schedules/999/publish')).json().error.code, 'SCHEDULE_NOT_FOUND');
      const listed = (await admin('GET', '/concerts?after=2&limit=1')).json();
      assert.equal(listed.concerts[0].id, 3);
      assert.equal(listed.nextAfter, 3);
    });
  });
