import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Database } from '../../src/db/database.ts';
import { backlog, purgePublished } from '../../src/db/outbox-relay-repository.ts';
import { readCommittedTransaction } from '../../src/db/transaction.ts';
import type { BookingEvent, BookingEventType } from '../../src/domain/booking/model.ts';
import { ManualClock, systemClock } from '../../src/domain/clock.ts';
import type { EventLog, EventPublisher } from '../../src/events/bus.ts';
import { createPublisher } from '../../src/events/create-publisher.ts';
import { InProcessEventBus } from '../../src/events/inprocess-bus.ts';
import { NatsEventPublisher } from '../../src/events/nats-bus.ts';
import { OutboxRelay } from '../../src/events/outbox-relay.ts';
import { serverAvailable, serverUrls, testWhere } from '../support/backends.ts';
import { createTestDatabase, DIALECTS, dialectAvailable, type TestDatabase } from '../support/databases.ts';
import { appendEvents, ids, waitFor } from '../support/outbox-events.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const T0 = Date.UTC(2026, 0, 1);

/** Records what it is given; while `down` every publish fails, like a bus that is unreachable. */
class RecordingPublisher implements EventPublisher {
  received: BookingEvent[] = [];
  down = false;
  /** Succeeds this many more times, then goes down. */
  upFor = Number.POSITIVE_INFINITY;
  async publish(event: BookingEvent): Promise<void> {
    if (this.down || this.upFor <= 0) {
      this.down = true;
      throw new Error('bus unreachable');
    }
    this.upFor--;
    this.received.push(event);
  }
  async close(): Promise<void> {}
}

class RecordingLog implements EventLog {
  warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  info(): void {}
  warn(obj: object, msg: string): void {
    this.warnings.push({ obj: obj as Record<string, unknown>, msg });
  }
}

const reservationLife: Array<[string, BookingEventType]> = [
  ['r-1', 'reservation.held'],
  ['r-2', 'reservation.held'],
  ['r-1', 'payment.completed'],
  ['r-2', 'reservation.released'],
  ['r-3', 'reservation.held'],
  ['r-3', 'reservation.expired'],
];

// Every server is checked before any suite starts: a suite already running could starve the check's 1 s timeout.
const reachable = await Promise.all(DIALECTS.map(dialectAvailable));

for (const [i, dialect] of DIALECTS.entries()) {
  const available = reachable[i];
  describe(`outbox relay on ${dialect}`, { skip: available ? false : `${dialect} not reachable` }, () => {
    let tdb: TestDatabase;
    let database: Database;
    beforeEach(async () => {
      tdb = await createTestDatabase(dialect);
      database = tdb.database;
    });
    afterEach(async () => {
      await tdb.drop();
    });

    test('publishes appended events once, in seq order, and marks them published', async () => {
      const clock = new ManualClock(T0);
      const publisher = new RecordingPublisher();
      const relay = new OutboxRelay({ database, publisher, clock, batchSize: 100, intervalMs: 10 });
      const appended = await appendEvents(database, clock, reservationLife);
      clock.advance(1500);
      assert.deepEqual(await relay.stats(), {
        published: 0,
        failures: 0,
        backlog: 6,
        lagMs: 1500,
        oldestCreatedAt: T0,
      });

      assert.equal(await relay.runOnce(), 6);
      assert.deepEqual(ids(publisher.received), ids(appended));
      assert.deepEqual(publisher.received[2], {
        eventId: appended[2].eventId,
        aggregateId: 'r-1',
        type: 'payment.completed',
        payload: { aggregateId: 'r-1', n: 2 },
        createdAt: T0,
      });
      const rows = await database.db.selectFrom('outbox').select(['published_at']).execute();
      assert.deepEqual(
        rows.map((r) => Number(r.published_at)),
        rows.map(() => T0 + 1500),
      );

      assert.equal(await relay.runOnce(), 0, 'nothing is published twice');
      assert.equal(publisher.received.length, 6);
      assert.deepEqual(await relay.stats(), {
        published: 6,
        failures: 0,
        backlog: 0,
        lagMs: 0,
        oldestCreatedAt: null,
      });
    });

    test('a failing publisher leaves events pending; they go out in order when it recovers', async () => {
      const clock = new ManualClock(T0);
      const publisher = new RecordingPublisher();
      const logger = new RecordingLog();
      const relay = new OutboxRelay({ database, publisher, clock, batchSize: 100, intervalMs: 10, logger });
      const appended = await appendEvents(database, clock, reservationLife);
      clock.advance(2000);

      publisher.upFor = 2;
      assert.equal(await relay.runOnce(), 2, 'the round stops at the first failure');
      assert.equal(await relay.runOnce(), 0, 'never skips ahead of the failed event');
      let stats = await relay.stats();
      assert.equal(stats.backlog, 4);
      assert.equal(stats.failures, 2);
      assert.equal(stats.lagMs, 2000);
      assert.equal(logger.warnings.length, 2);
      assert.equal(logger.warnings[0].obj.lagMs, 2000);
      assert.equal(logger.warnings[0].obj.eventId, appended[2].eventId);

      await appendEvents(database, clock, [['r-4', 'reservation.held']]);
      publisher.down = false;
      publisher.upFor = Number.POSITIVE_INFINITY;
      assert.equal(await relay.runOnce(), 5);
      const all = await database.db.selectFrom('outbox').select(['event_id']).orderBy('seq').execute();
      assert.deepEqual(
        ids(publisher.received),
        all.map((r) => r.event_id),
        'every event exactly once, in seq order',
      );
      stats = await relay.stats();
      assert.equal(stats.backlog, 0);
      assert.equal(stats.published, 7);
    });

    test('a round publishes at most batchSize events, oldest first', async () => {
      const clock = new ManualClock(T0);
      const publisher = new RecordingPublisher();
      const relay = new OutboxRelay({ database, publisher, clock, batchSize: 4, intervalMs: 10 });
      const appended = await appendEvents(database, clock, reservationLife);
      assert.equal(await relay.runOnce(), 4);
      assert.deepEqual(ids(publisher.received), ids(appended.slice(0, 4)));
      assert.equal((await backlog(database.db)).count, 2);
      assert.equal(await relay.runOnce(), 2);
      assert.deepEqual(ids(publisher.received), ids(appended));
    });

    test('start() relays in the background to in-process subscribers; a throwing subscriber does not stop it', async () => {
      const bus = new InProcessEventBus();
      const seen: string[] = [];
      const held: string[] = [];
      bus.subscribe('*', (e) => {
        seen.push(e.eventId);
      });
      bus.subscribe('reservation.held', (e) => {
        held.push(e.aggregateId);
        throw new Error('subscriber bug');
      });
      const relay = new OutboxRelay({
        database,
        publisher: bus,
        clock: systemClock,
        batchSize: 2,
        intervalMs: 10,
      });
      relay.start();
      try {
        const first = await appendEvents(database, systemClock, reservationLife.slice(0, 3));
        await waitFor('first events', () => seen.length === 3);
        const more = await appendEvents(database, systemClock, reservationLife.slice(3));
        await waitFor('all events', async () => (await relay.stats()).backlog === 0 && seen.length === 6);
        assert.deepEqual(seen, ids([...first, ...more]));
        assert.deepEqual(held, ['r-1', 'r-2', 'r-3']);
        assert.equal(bus.stats.handlerErrors, 3);
        assert.equal((await relay.stats()).failures, 0, 'a subscriber error is not a publish failure');
      } finally {
        await relay.stop();
      }
      await appendEvents(database, systemClock, [['r-9', 'reservation.held']]);
      await sleep(60);
      assert.equal(seen.length, 6, 'a stopped relay publishes nothing');
      assert.equal(await relay.runOnce(), 1);
    });

    test('nudge() runs a round at once instead of after the idle pause', async () => {
      const publisher = new RecordingPublisher();
      const relay = new OutboxRelay({ database, publisher, clock: systemClock, intervalMs: 60_000 });
      relay.start();
      try {
        await waitFor('the first, empty round', () => relay.stats().then((s) => s.backlog === 0));
        await sleep(20);
        const appended = await appendEvents(database, systemClock, reservationLife.slice(0, 2));
        relay.nudge();
        await waitFor('the nudged round', () => publisher.received.length === 2, 5000);
        assert.deepEqual(ids(publisher.received), ids(appended));
      } finally {
        await relay.stop();
      }
    });

    test('a relay that finds the lease taken stands by: nudges do not wake it, and it takes over after the pause', async () => {
      const a = new OutboxRelay({ database, publisher: new RecordingPublisher(), clock: systemClock });
      const standbyPublisher = new RecordingPublisher();
      const b = new OutboxRelay({
        database,
        publisher: standbyPublisher,
        clock: systemClock,
        intervalMs: 10,
        standbyMs: 3000,
      });
      try {
        await appendEvents(database, systemClock, reservationLife.slice(0, 2));
        assert.equal(await a.runOnce(), 2);
        const pending = await appendEvents(database, systemClock, reservationLife.slice(2, 4));
        b.start();
        await waitFor('the standby', () => b.standingBy, 5000);
        await a.stop();
        for (let k = 0; k < 20; k++) {
          b.nudge();
          await sleep(10);
        }
        assert.equal(standbyPublisher.received.length, 0, 'nudges and the idle pause do not wake a standby');
        await waitFor('the standby taking over', () => standbyPublisher.received.length === 2, 10_000);
        assert.deepEqual(ids(standbyPublisher.received), ids(pending));
      } finally {
        await b.stop();
        await a.stop();
      }
    });

    test('purgePublished deletes old published events and keeps pending ones', async () => {
      const clock = new ManualClock(T0);
      const publisher = new RecordingPublisher();
      const relay = new OutboxRelay({ database, publisher, clock });
      await appendEvents(database, clock, reservationLife.slice(0, 3));
      await relay.runOnce();
      clock.advance(10_000);
      const pending = await appendEvents(database, clock, reservationLife.slice(3));
      assert.equal(await purgePublished(database.db, T0 + 1), 3);
      assert.equal(await purgePublished(database.db, clock.now() + 1), 0);
      const left = await database.db.selectFrom('outbox').select(['event_id']).orderBy('seq').execute();
      assert.deepEqual(
        left.map((r) => r.event_id),
        ids(pending),
      );
    });

    test('purgePublished deletes in batches until every old published event is gone', async () => {
      const clock = new ManualClock(T0);
      const specs = Array.from({ length: 1203 }, (_, i): [string, BookingEventType] => [
        `r-${i}`,
        'reservation.held',
      ]);
      const rows = specs.map(([aggregateId, type], i) => ({
        event_id: randomUUID(),
        aggregate_id: aggregateId,
        type,
        payload: '{}',
        created_at: T0 + i,
        published_at: T0 + i,
      }));
      for (let i = 0; i < rows.length; i += 300)
        await database.db
          .insertInto('outbox')
          .values(rows.slice(i, i + 300))
          .execute();
      const pending = await appendEvents(database, clock, [['r-x', 'reservation.held']]);
      assert.equal(await purgePublished(database.db, T0 + 5000), 1203);
      const left = await database.db.selectFrom('outbox').select('event_id').execute();
      assert.deepEqual(
        left.map((r) => r.event_id),
        ids(pending),
      );
    });

    test('no transaction stays open while the bus is slow: the rows being published can be written meanwhile', async () => {
      const clock = new ManualClock(T0);
      const appended = await appendEvents(database, clock, reservationLife.slice(0, 2));
      let release = () => {};
      const stalled = new Promise<void>((resolve) => {
        release = resolve;
      });
      let publishing = false;
      const slowBus: EventPublisher = {
        publish: async () => {
          publishing = true;
          await stalled;
        },
        close: async () => {},
      };
      const relay = new OutboxRelay({ database, publisher: slowBus, clock });
      const round = relay.runOnce();
      await waitFor('the publish in flight', () => publishing, 5000);
      const write = readCommittedTransaction(database).execute((trx) =>
        trx
          .updateTable('outbox')
          .set({ payload: '{"touched":true}' })
          .where('event_id', '=', appended[0].eventId)
          .execute(),
      );
      const waited = await Promise.race([write.then(() => 'written'), sleep(3000).then(() => 'blocked')]);
      release();
      assert.equal(waited, 'written', 'a row lock was held while waiting on the bus');
      assert.equal(await round, 2);
      assert.equal((await backlog(database.db)).count, 0);
    });

    test('one relay at a time holds the lease; another takes over when it stops or its lease lapses', async () => {
      const clock = new ManualClock(T0);
      const publisher = new RecordingPublisher();
      const relay = () => new OutboxRelay({ database, publisher, clock, leaseMs: 10_000 });
      const a = relay();
      const b = relay();
      const first = await appendEvents(database, clock, reservationLife.slice(0, 2));
      assert.equal(await a.runOnce(), 2);
      const second = await appendEvents(database, clock, reservationLife.slice(2, 4));
      assert.equal(await b.runOnce(), 0, 'the lease is the first relay’s');
      await a.stop();
      assert.equal(await b.runOnce(), 2, 'a stopped relay hands the lease over at once');
      const third = await appendEvents(database, clock, reservationLife.slice(4));
      const c = relay();
      assert.equal(await c.runOnce(), 0);
      clock.advance(10_000);
      assert.equal(await c.runOnce(), 2, 'a lapsed lease is taken over (its holder died)');
      assert.deepEqual(ids(publisher.received), ids([...first, ...second, ...third]));
    });

    // SQLite serves one process, so two relays on one SQLite database is not a deployment.
    testWhere(dialect !== 'sqlite')(
      'two relays on one database publish every event exactly once, in order',
      async () => {
        const clock = new ManualClock(T0);
        const publisher = new RecordingPublisher();
        const specs = Array.from({ length: 60 }, (_, i): [string, BookingEventType] => [
          `r-${i % 7}`,
          'reservation.held',
        ]);
        const appended = await appendEvents(database, clock, specs);
        // A slow bus keeps each round going long enough for the other relay to meet it.
        const slow: EventPublisher = {
          publish: async (e) => {
            await sleep(1);
            await publisher.publish(e);
          },
          close: async () => {},
        };
        const a = new OutboxRelay({ database, publisher: slow, clock, batchSize: 5, intervalMs: 10 });
        const b = new OutboxRelay({ database, publisher: slow, clock, batchSize: 5, intervalMs: 10 });
        while ((await backlog(database.db)).count > 0) await Promise.all([a.runOnce(), b.runOnce()]);
        assert.deepEqual(ids(publisher.received), ids(appended));
      },
    );
  });
}

describe('createPublisher', () => {
  test('inprocess is the default bus and an unknown value is refused', async () => {
    const bus = createPublisher('inprocess');
    assert.ok(bus instanceof InProcessEventBus);
    await bus.close();
    assert.throws(() => createPublisher('kafka://x'), /TR_EVENTS/);
  });
});

const natsUp = await serverAvailable('nats');

describe('outbox relay to NATS JetStream', {
  skip: natsUp ? false : `nats not reachable at ${serverUrls.nats}`,
}, () => {
  const natsUrl = new URL(serverUrls.nats);
  const streams: string[] = [];
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  let tdb: TestDatabase;

  before(async () => {
    admin = await connect({ servers: serverUrls.nats });
    jsm = await jetstreamManager(admin);
  });
  after(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => {});
    await admin?.close();
  });
  beforeEach(async () => {
    tdb = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await tdb.drop();
  });

  /** A stream and subject prefix of this test's own, deleted at the end. */
  function ownStream(): { stream: string; subjectPrefix: string } {
    const run = randomBytes(5).toString('hex');
    const stream = `TICKETRUSH_TEST_${run}`;
    streams.push(stream);
    return { stream, subjectPrefix: `ticketrush-test-${run}` };
  }

  async function storedMessages(
    stream: string,
  ): Promise<Array<{ subject: string; msgId: string; event: BookingEvent }>> {
    const info = await jsm.streams.info(stream);
    const out = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      assert.ok(m, `stream ${stream} has message ${seq}`);
      out.push({ subject: m.subject, msgId: m.header.get('Nats-Msg-Id'), event: m.json<BookingEvent>() });
    }
    return out;
  }

  test('events arrive in JetStream in order, and a re-published event id is dropped as a duplicate', async () => {
    const { stream, subjectPrefix } = ownStream();
    const publisher = new NatsEventPublisher({ servers: serverUrls.nats, stream, subjectPrefix });
    try {
      await waitFor('NATS connection', () => publisher.connected);
      const clock = new ManualClock(T0);
      const relay = new OutboxRelay({ database: tdb.database, publisher, clock, batchSize: 100 });
      const appended = await appendEvents(tdb.database, clock, reservationLife);
      assert.equal(await relay.runOnce(), 6);

      let stored = await storedMessages(stream);
      assert.deepEqual(
        stored.map((m) => m.msgId),
        ids(appended),
      );
      assert.deepEqual(
        stored.map((m) => m.subject),
        appended.map((e) => `${subjectPrefix}.${e.type}`),
      );
      assert.deepEqual(stored[5].event, {
        eventId: appended[5].eventId,
        aggregateId: 'r-3',
        type: 'reservation.expired',
        payload: { aggregateId: 'r-3', n: 5 },
        createdAt: T0,
      });

      // At-least-once: a relay that lost its marks publishes again, and JetStream keeps one copy.
      await tdb.database.db.updateTable('outbox').set({ published_at: null }).execute();
      assert.equal(await relay.runOnce(), 6);
      await publisher.publish(stored[0].event);
      stored = await storedMessages(stream);
      assert.deepEqual(
        stored.map((m) => m.msgId),
        ids(appended),
      );
    } finally {
      await publisher.close();
    }
  });

  test('NATS unreachable at start-up: events wait in the outbox and go out once it answers', async () => {
    const { stream, subjectPrefix } = ownStream();
    const proxy = new TcpProxy({ host: natsUrl.hostname, port: Number(natsUrl.port || 4222) });
    const port = await proxy.listen();
    await proxy.cut();
    const publisher = new NatsEventPublisher({
      servers: `nats://127.0.0.1:${port}`,
      stream,
      subjectPrefix,
      publishTimeoutMs: 500,
      reconnectTimeWaitMs: 100,
    });
    const relay = new OutboxRelay({
      database: tdb.database,
      publisher,
      clock: systemClock,
      intervalMs: 20,
      maxBackoffMs: 200,
    });
    try {
      relay.start();
      const appended = await appendEvents(tdb.database, systemClock, reservationLife.slice(0, 3));
      await waitFor('failed rounds', async () => (await relay.stats()).failures >= 2);
      assert.equal((await relay.stats()).backlog, 3);
      assert.equal(publisher.connected, false);

      await proxy.restore();
      await waitFor('events once NATS answers', async () => (await relay.stats()).backlog === 0, 20_000);
      assert.deepEqual(
        (await storedMessages(stream)).map((m) => m.msgId),
        ids(appended),
      );
    } finally {
      await relay.stop();
      await publisher.close();
      await proxy.close();
    }
  });

  test('a NATS outage mid-run: events wait in the outbox and arrive exactly once, in order, when it is back', async () => {
    const { stream, subjectPrefix } = ownStream();
    const proxy = new TcpProxy({ host: natsUrl.hostname, port: Number(natsUrl.port || 4222) });
    const port = await proxy.listen();
    const publisher = new NatsEventPublisher({
      servers: `nats://127.0.0.1:${port}`,
      stream,
      subjectPrefix,
      publishTimeoutMs: 500,
      reconnectTimeWaitMs: 100,
    });
    const logger = new RecordingLog();
    const relay = new OutboxRelay({
      database: tdb.database,
      publisher,
      clock: systemClock,
      batchSize: 3,
      intervalMs: 20,
      maxBackoffMs: 300,
      logger,
    });
    try {
      relay.start();
      const before = await appendEvents(tdb.database, systemClock, reservationLife);
      await waitFor('events before the outage', async () => (await relay.stats()).backlog === 0);
      assert.equal((await storedMessages(stream)).length, 6);

      await proxy.cut();
      const during = await appendEvents(tdb.database, systemClock, [
        ['r-5', 'reservation.held'],
        ['r-5', 'payment.completed'],
        ['r-6', 'reservation.held'],
        ['r-6', 'reservation.expired'],
        ['r-7', 'reservation.held'],
      ]);
      await waitFor('failed rounds during the outage', async () => (await relay.stats()).failures >= 3);
      const stats = await relay.stats();
      assert.equal(stats.backlog, 5, 'events stay pending while NATS is away');
      assert.ok(stats.lagMs >= 0);
      assert.equal(stats.published, 6);
      assert.equal((await storedMessages(stream)).length, 6);
      assert.ok(logger.warnings.some((w) => typeof w.obj.lagMs === 'number'));

      await proxy.restore();
      assert.equal(proxy.port, port);
      await waitFor('events after the outage', async () => (await relay.stats()).backlog === 0, 20_000);
      const stored = await storedMessages(stream);
      assert.deepEqual(
        stored.map((m) => m.msgId),
        ids([...before, ...during]),
        'every event exactly once, in order',
      );
    } finally {
      await relay.stop();
      await publisher.close();
      await proxy.close();
    }
  });
});
