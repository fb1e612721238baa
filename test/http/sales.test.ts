import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyDraw } from '../../src/domain/sales/draw.ts';
import { verifyDrawCommand } from '../../src/verify-draw-cli.ts';
import { adminClient, adminEnv } from '../support/admin.ts';
import { makeTestApp, type TestApp } from '../support/app.ts';
import { serverAvailable, serverUrls } from '../support/backends.ts';
import { DIALECTS, dialectAvailable } from '../support/databases.ts';
import { redisClusterFor } from '../support/redis-cluster.ts';
import { dropQueueKeys } from '../support/redis-keys.ts';

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));
const redisUp = await serverAvailable('redis');
// Each sale's room on the master of its own hash tag: the draw and pre-queue scripts included.
const cluster = await redisClusterFor('sales on a redis cluster');
after(() => cluster?.stop());

const stores: Array<[name: string, env: () => Record<string, string>, up: boolean]> = [
  ['memory', () => ({ TR_QUEUE: 'memory' }), true],
  [
    'redis',
    () => ({ TR_QUEUE: serverUrls.redis, TR_QUEUE_NAME: `sales-${randomBytes(6).toString('hex')}` }),
    redisUp,
  ],
  [
    'redis cluster',
    () => ({ TR_QUEUE: cluster?.url ?? '', TR_QUEUE_NAME: `sales-${randomBytes(6).toString('hex')}` }),
    cluster !== undefined,
  ],
];

const seatMap = {
  sections: [{ name: 'Floor', price: 100_000, rows: [{ label: 'A', seats: ['1', '2', '3', '4'] }] }],
};

for (const [i, dialect] of DIALECTS.entries())
  for (const [storeName, storeEnv, storeUp] of stores)
    describe(`a sale run by an operator over HTTP on ${dialect} with the ${storeName} store`, {
      skip: (!reachable[i] && `${dialect} not reachable`) || (!storeUp && `${storeName} not reachable`),
    }, () => {
      let t: TestApp;
      before(async () => {
        t = await makeTestApp(dialect, { ...adminEnv, ...storeEnv(), TR_ADMIT_ADAPTIVE: 'false' });
      });
      after(async () => {
        await t?.close();
        // The Redis keys of this app's rooms go too, so runs leave nothing behind.
        if (t && t.config.queue === serverUrls.redis) await dropQueueKeys(t.config.queueName);
      });
      const admin = adminClient(() => t);
      const fan = (method: 'GET' | 'POST', url: string, key?: string) =>
        t.app.inject({ method, url, headers: key ? { authorization: key } : {} });
      const rooms = () => t.composition.services.saleRooms;
      /** Two admission steps 10 ms apart: at 1000/s the second may admit 10. */
      const step = async () => {
        await rooms().tick();
        t.clock.advance(10);
        await rooms().tick();
      };

      test('create a concert and a sale, pre-queue, draw, pause, resume, book, watch and close', async () => {
        // The catalog, with the admin API alone.
        const concert = (
          await admin('POST', '/concerts', { title: 'Sale', artist: 'Day6', venue: 'KSPO' })
        ).json();
        const schedule = (
          await admin('POST', `/concerts/${concert.id}/schedules`, { startsAt: '2027-05-01T19:00:00Z' })
        ).json();
        assert.equal((await admin('PUT', `/schedules/${schedule.id}/seat-map`, seatMap)).statusCode, 200);
        assert.equal((await admin('POST', `/concerts/${concert.id}/publish`)).statusCode, 200);
        assert.equal((await admin('POST', `/schedules/${schedule.id}/publish`)).statusCode, 200);

        // A sale opening in a minute.
        const opensAt = t.clock.now() + 60_000;
        const created = await admin('POST', '/sales', {
          name: 'Day6 presale',
          scheduleIds: [schedule.id],
          opensAt: new Date(opensAt).toISOString(),
          admitPerSecond: 1000,
          maxActive: 1,
        });
        assert.equal(created.statusCode, 201, created.body);
        const sale = created.json();
        assert.equal(sale.status, 'SCHEDULED');
        assert.equal(sale.drawSeed, null);
        assert.match(sale.drawCommitment, /^[0-9a-f]{64}$/);
        assert.deepEqual(sale.scheduleIds, [schedule.id]);
        assert.equal(sale.allSchedules, false);
        assert.equal(sale.settings.maxActive, 1);
        const saleId: number = sale.saleId;
        assert.ok(saleId > 1, 'sale 1 is the default sale');

        const listed = (await fan('GET', '/api/sales')).json().sales;
        // The default sale covers every schedule without listing them (the demo has 99,999).
        assert.deepEqual(
          { allSchedules: listed[0].allSchedules, scheduleIds: listed[0].scheduleIds },
          { allSchedules: true, scheduleIds: [] },
        );
        assert.deepEqual(
          listed.map((s: { saleId: number }) => s.saleId),
          [1, saleId],
        );
        assert.equal((await fan('GET', '/api/sales/1')).json().status, 'OPEN');

        // Five fans join before the opening: pre-queued, counting down.
        const keys = new Map<number, string>();
        for (const userId of [11, 12, 13, 14, 15]) {
          const r = await fan('POST', `/api/sales/${saleId}/users/${userId}/token`);
          assert.equal(r.statusCode, 200, r.body);
          const ticket = r.json();
          assert.equal(ticket.status, 'PREQUEUE');
          assert.equal(ticket.admission, 'PREQUEUE');
          assert.equal(ticket.etaSeconds, 60);
          assert.equal(ticket.opensAt, new Date(opensAt).toISOString());
          assert.ok(ticket.order >= 1 && ticket.order === ticket.position);
          assert.ok(ticket.accessKey.startsWith(`${saleId}.`), 'the key names its sale');
          keys.set(userId, ticket.accessKey);
        }
        // Nobody is admitted before the opening, and no-one is evicted for not polling meanwhile.
        t.clock.advance(50_000);
        await step();
        const early = (await fan('GET', `/api/sales/${saleId}/users/11/token`, keys.get(11))).json();
        assert.equal(early.status, 'PREQUEUE');
        assert.equal(early.order, 5);
        const before = await fan('GET', `/api/sales/${saleId}/draw`);
        assert.equal(before.json().seed, null);
        assert.equal(before.headers['cache-control'], 'no-store', 'the draw changes at the opening');

        // The opening: the draw orders the pre-queue; a later arrival queues behind it.
        t.clock.advance(10_001);
        await step();
        const late = (await fan('POST', `/api/sales/${saleId}/users/16/token`)).json();
        assert.equal(late.status, 'WAITING');
        keys.set(16, late.accessKey);

        const drawn = await fan('GET', `/api/sales/${saleId}/draw`);
        const draw = drawn.json();
        assert.deepEqual(draw.entrants, [11, 12, 13, 14, 15]);
        // Recorded, it never changes: kept serialized, and caches may keep it too.
        assert.equal(drawn.headers['cache-control'], 'public, max-age=3600, immutable');
        assert.match(String(drawn.headers['content-type']), /^application\/json/);
        assert.equal((await fan('GET', `/api/sales/${saleId}/draw`)).body, drawn.body);
        assert.equal(draw.order.length, 5);
        assert.equal(draw.commitment, sale.drawCommitment);
        assert.deepEqual(verifyDraw(draw), { ok: true });
        const dir = await mkdtemp(join(tmpdir(), 'draw-'));
        try {
          await writeFile(join(dir, 'draw.json'), JSON.stringify(draw));
          assert.equal(await verifyDrawCommand([join(dir, 'draw.json')]), 0);
          const swapped = [draw.order[1], draw.order[0], ...draw.order.slice(2)];
          await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...draw, order: swapped }));
          assert.equal(await verifyDrawCommand([join(dir, 'bad.json')]), 1);
        } finally {
          await rm(dir, { recursive: true });
        }

        // maxActive 1: the first drawn is admitted, the others wait in the drawn order, the late one last.
        const poll = async (userId: number) =>
          (await fan('GET', `/api/sales/${saleId}/users/${userId}/token`, keys.get(userId))).json();
        const order: number[] = draw.order;
        assert.equal((await poll(order[0])).status, 'ACTIVE');
        for (const [place, userId] of order.slice(1).entries()) {
          const ticket = await poll(userId);
          assert.equal(ticket.status, 'WAITING');
          assert.equal(ticket.position, place + 1);
        }
        assert.equal((await poll(16)).position, 5);

        // The admitted fan books in the sale's schedule, and not outside it.
        const first = order[0];
        const hold = await t.app.inject({
          method: 'POST',
          url: '/api/reservations',
          headers: { authorization: keys.get(first)! },
          payload: { userId: first, concertScheduleId: schedule.id, seatId: 1 },
        });
        assert.equal(hold.statusCode, 200, hold.body);
        const outside = await t.app.inject({
          method: 'POST',
          url: '/api/reservations',
          headers: { authorization: keys.get(first)! },
          payload: { userId: first, concertScheduleId: 1, seatId: 1 },
        });
        assert.equal(outside.statusCode, 403, outside.body);
        assert.equal(outside.json().error.code, 'SCHEDULE_NOT_IN_SALE');

        // Pause: nobody new is admitted, waiters keep their place.
        const paused = await admin('POST', `/sales/${saleId}/pause`);
        assert.equal(paused.statusCode, 200, paused.body);
        assert.equal(paused.json().status, 'PAUSED');
        assert.equal((await admin('PATCH', `/sales/${saleId}/settings`, { maxActive: 3 })).statusCode, 200);
        await step();
        const waiting = await poll(order[1]);
        assert.equal(waiting.status, 'WAITING');
        assert.equal(waiting.admission, 'PAUSED');
        assert.equal(waiting.etaSeconds, null);
        assert.equal(waiting.position, 1);

        // Resume: the raised cap admits two more, in the drawn order.
        assert.equal((await admin('POST', `/sales/${saleId}/resume`)).json().status, 'OPEN');
        await step();
        assert.equal((await poll(order[1])).status, 'ACTIVE');
        assert.equal((await poll(order[2])).status, 'ACTIVE');
        assert.equal((await poll(order[3])).position, 1);

        // Watch.
        const watched = await admin('GET', `/sales/${saleId}`);
        assert.equal(watched.statusCode, 200, watched.body);
        const counters = watched.json().counters;
        assert.equal(counters.prequeued, 5);
        assert.equal(counters.active, 3);
        assert.equal(counters.waiting, 3);
        assert.equal(counters.admittedTotal, 3);
        assert.equal(counters.holds, 1);
        assert.equal(watched.json().drawSeed, draw.seed);

        // The same counters as Prometheus series labelled by sale (their seat counts are up to a second old).
        t.clock.advance(1000);
        const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.match(metrics, new RegExp(`^ticketrush_sale_holds\\{sale="${saleId}"\\} 1$`, 'm'));
        assert.match(metrics, new RegExp(`^ticketrush_sale_prequeued\\{sale="${saleId}"\\} 5$`, 'm'));
        assert.match(metrics, new RegExp(`^ticketrush_sale_admitted_total\\{sale="${saleId}"\\} 3$`, 'm'));
        // The window and pace in force, as the console and a load run chart them beside the line.
        assert.match(
          metrics,
          new RegExp(`^ticketrush_sale_window\\{sale="${saleId}"\\} ${counters.window}$`, 'm'),
        );
        assert.ok(counters.window >= 3 && counters.pacePerSecond > 0, JSON.stringify(counters));

        // Every change is in the audit log with before and after.
        const audit = (await admin('GET', `/audit?entity=sale:${saleId}`)).json().entries;
        assert.deepEqual(
          audit.map((e: { action: string }) => e.action),
          ['sale.resume', 'sale.settings', 'sale.pause', 'sale.create'],
        );
        const settingsChange = audit[1];
        assert.equal(settingsChange.before.maxActive, 1);
        assert.equal(settingsChange.after.maxActive, 3);

        // Close: waiters see CLOSED at their place, newcomers are refused.
        const closed = await admin('POST', `/sales/${saleId}/close`);
        assert.equal(closed.statusCode, 200, closed.body);
        assert.equal(closed.json().status, 'CLOSED');
        assert.ok(closed.json().closedAt);
        const after = await poll(order[4]);
        assert.equal(after.status, 'CLOSED');
        assert.equal(after.admission, 'CLOSED');
        assert.ok(after.order >= 1);
        const refused = await fan('POST', `/api/sales/${saleId}/users/17/token`);
        assert.equal(refused.statusCode, 409);
        assert.equal(refused.json().error.code, 'SALE_CLOSED');
        assert.equal((await admin('POST', `/sales/${saleId}/resume`)).statusCode, 409);
      });

      test('metrics name the default sale and the 10 most recent open sales; the others are summed as other', async () => {
        const created: number[] = [];
        for (let k = 0; k < 13; k++) {
          const r = await admin('POST', '/sales', { name: `s${k}`, scheduleIds: [(k % 12) + 1] });
          assert.equal(r.statusCode, 201, r.body);
          created.push(r.json().saleId);
          // A fan's visit makes this process run the sale.
          assert.equal((await fan('GET', `/api/sales/${r.json().saleId}`)).statusCode, 200);
        }
        // A scrape reuses what the sources answered within the last 250 ms (the first test scraped too).
        await new Promise((r) => setTimeout(r, 300));
        const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        const labels = [...metrics.matchAll(/^ticketrush_sale_waiting\{sale="([^"]+)"\}/gm)].map((m) => m[1]);
        const newest = created.slice(-10).map(String);
        assert.deepEqual(labels.sort(), ['1', ...newest, 'other'].sort());
      });

      test('operator routes need an operator key; unknown sales and schedules are 404', async () => {
        assert.equal((await admin('GET', '/sales', undefined, null)).statusCode, 401);
        assert.equal((await admin('GET', '/sales/999')).json().error.code, 'SALE_NOT_FOUND');
        assert.equal((await fan('GET', '/api/sales/999')).statusCode, 404);
        const bad = await admin('POST', '/sales', { name: 'x', scheduleIds: [99_999] });
        assert.equal(bad.statusCode, 404);
        assert.equal(bad.json().error.code, 'SCHEDULE_NOT_FOUND');
      });
    });
