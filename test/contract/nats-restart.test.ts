// The outbox relay against a real nats-server of the test's own that is stopped (SIGTERM) and started
// again on the same port and storage directory in the middle of a run: a real restart, where
// test/contract/outbox-relay.test.ts only cuts a TCP proxy in front of a server that stays up.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { BookingEvent, BookingEventType } from '../../src/domain/booking/model.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { EventLog, EventPublisher } from '../../src/events/bus.ts';
import { NatsEventPublisher } from '../../src/events/nats-bus.ts';
import { OutboxRelay } from '../../src/events/outbox-relay.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';
import { NatsServerProcess, natsServerBinary, natsServerInstalled } from '../support/nats-server.ts';
import { type Appended, appendEvents, ids, waitFor } from '../support/outbox-events.ts';

class RecordingLog implements EventLog {
  infos: string[] = [];
  warnings: string[] = [];
  info(_obj: object, msg: string): void {
    this.infos.push(msg);
  }
  warn(_obj: object, msg: string): void {
    this.warnings.push(msg);
  }
}

/** Hands each publish to `inner`; the `at`-th call (1-based) runs `hook` around it instead. */
class HookedPublisher implements EventPublisher {
  calls = 0;
  at = Number.POSITIVE_INFINITY;
  readonly inner: EventPublisher;
  readonly hook: (publish: () => Promise<void>) => Promise<void>;
  constructor(inner: EventPublisher, hook: (publish: () => Promise<void>) => Promise<void>) {
    this.inner = inner;
    this.hook = hook;
  }
  async publish(event: BookingEvent): Promise<void> {
    this.calls++;
    if (this.calls === this.at) return this.hook(() => this.inner.publish(event));
    return this.inner.publish(event);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Every message in the stream, read over a connection of its own (the server may have restarted since). */
async function storedMessages(
  url: string,
  stream: string,
): Promise<{
  firstSeq: number;
  lastSeq: number;
  messages: Array<{ seq: number; subject: string; msgId: string; event: BookingEvent }>;
}> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000 });
    const { state } = await jsm.streams.info(stream);
    const messages = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      assert.ok(m, `stream ${stream} has message ${seq}`);
      messages.push({
        seq: m.seq,
        subject: m.subject,
        msgId: m.header.get('Nats-Msg-Id'),
        event: m.json<BookingEvent>(),
      });
    }
    assert.equal(messages.length, state.messages);
    return { firstSeq: state.first_seq, lastSeq: state.last_seq, messages };
  } finally {
    await nc.close();
  }
}

/** The stream holds exactly `expected`, once each, in outbox order (so in order per reservation too). */
async function assertStreamHoldsExactly(
  url: string,
  stream: string,
  subjectPrefix: string,
  expected: Appended[],
) {
  const { firstSeq, lastSeq, messages } = await storedMessages(url, stream);
  const msgIds = messages.map((m) => m.msgId);
  assert.equal(new Set(msgIds).size, msgIds.length, 'no event is stored twice');
  assert.deepEqual(msgIds, ids(expected), 'every event exactly once, in outbox (seq) order');
  assert.deepEqual([firstSeq, lastSeq], [1, expected.length], 'no stream sequence was skipped or lost');
  assert.deepEqual(
    messages.map((m) => m.subject),
    expected.map((e) => `${subjectPrefix}.${e.type}`),
  );
  assert.deepEqual(
    messages.map((m) => m.event.eventId),
    msgIds,
    'message id is the event id',
  );
  const perReservation = (events: Array<{ eventId: string; aggregateId: string }>) => {
    const by = new Map<string, string[]>();
    for (const e of events) by.set(e.aggregateId, [...(by.get(e.aggregateId) ?? []), e.eventId]);
    return Object.fromEntries([...by].sort(([a], [b]) => a.localeCompare(b)));
  };
  assert.deepEqual(
    perReservation(messages.map((m) => m.event)),
    perReservation(expected),
    'in order per reservation',
  );
}

const lifecycle = (from: number, count: number): Array<[string, BookingEventType]> =>
  Array.from({ length: count }, (_, i): [string, BookingEventType] => {
    const n = from + i;
    return [`r-${n % 4}`, n % 3 === 2 ? 'payment.completed' : 'reservation.held'];
  });

const installed = natsServerInstalled();

describe('outbox relay across a real nats-server restart', {
  skip: installed ? false : `nats-server binary not found at ${natsServerBinary}`,
}, () => {
  let server: NatsServerProcess;
  let tdb: TestDatabase;
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    server = new NatsServerProcess();
    await server.start();
    tdb = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    await server.dispose();
    await tdb.drop();
  });
  after(async () => {
    // Belt and braces: a failed beforeEach must not leave the child running.
    await server?.dispose();
  });

  /** A publisher and a running relay on the private server, stopped and closed after the test. */
  function relayTo(hook?: (publish: () => Promise<void>) => Promise<void>) {
    const run = randomBytes(5).toString('hex');
    const stream = `TICKETRUSH_RESTART_${run}`;
    const subjectPrefix = `ticketrush-restart-${run}`;
    const natsLog = new RecordingLog();
    const nats = new NatsEventPublisher({
      servers: server.url,
      stream,
      subjectPrefix,
      publishTimeoutMs: 500,
      reconnectTimeWaitMs: 100,
      logger: natsLog,
    });
    const publisher = new HookedPublisher(nats, hook ?? ((publish) => publish()));
    const relay = new OutboxRelay({
      database: tdb.database,
      publisher,
      clock: systemClock,
      batchSize: 5,
      intervalMs: 20,
      maxBackoffMs: 300,
    });
    cleanups.push(
      () => nats.close(),
      () => relay.stop(),
    );
    return { stream, subjectPrefix, nats, natsLog, publisher, relay };
  }

  test('stopped mid-batch: events wait in the outbox while it is down, then arrive exactly once, in order', async () => {
    // The 4th publish of the burst is sent right after the server exited, before the client has noticed:
    // it fails (timeout), but the client may still flush it on reconnect, so it can reach JetStream
    // twice; only the message id keeps it to one copy.
    const { stream, subjectPrefix, nats, natsLog, publisher, relay } = relayTo(async (publish) => {
      await server.stop();
      await publish();
    });
    await waitFor('NATS connection', () => nats.connected);
    relay.start();

    const first = await appendEvents(tdb.database, systemClock, lifecycle(0, 6));
    await waitFor('the first events', async () => (await relay.stats()).backlog === 0);
    await assertStreamHoldsExactly(server.url, stream, subjectPrefix, first);

    publisher.at = publisher.calls + 4;
    const burst = await appendEvents(tdb.database, systemClock, lifecycle(6, 12));
    await waitFor('the server to be stopped', () => !server.running);
    assert.equal(server.running, false);
    await waitFor('the publisher to notice', () => !nats.connected);

    const during = await appendEvents(tdb.database, systemClock, lifecycle(18, 5));
    const failuresAtStop = (await relay.stats()).failures;
    await waitFor(
      'failed rounds while NATS is down',
      async () => (await relay.stats()).failures >= failuresAtStop + 2,
    );
    const down = await relay.stats();
    assert.ok(down.backlog > 0, 'events stay pending while NATS is down');
    assert.equal(
      down.published,
      first.length + 3,
      'the relay stopped at the publish that met the dead server',
    );
    assert.equal(down.backlog, burst.length - 3 + during.length);

    await server.start();
    await waitFor('the outbox to drain after the restart', async () => (await relay.stats()).backlog === 0);
    assert.ok(nats.connected);
    assert.ok(natsLog.infos.includes('events: reconnected to NATS'), 'the client reconnected on its own');
    const all = [...first, ...burst, ...during];
    await assertStreamHoldsExactly(server.url, stream, subjectPrefix, all);
    const stats = await relay.stats();
    assert.equal(stats.backlog, 0);
    assert.equal(stats.lagMs, 0);
    assert.equal(stats.published, all.length);
  });

  test('stopped after storing an event but before its ack arrived: the re-published event is kept once', async () => {
    // The 3rd publish is stored and acknowledged, then the server stops and the relay is told it failed,
    // as when a server persists a message and dies before the ack reaches the client.
    const { stream, subjectPrefix, nats, publisher, relay } = relayTo(async (publish) => {
      await publish();
      await server.stop();
      throw new Error('connection lost before the ack');
    });
    publisher.at = 3;
    await waitFor('NATS connection', () => nats.connected);
    const appended = await appendEvents(tdb.database, systemClock, lifecycle(0, 8));
    relay.start();
    await waitFor('the server to be stopped', () => !server.running);
    const during = await appendEvents(tdb.database, systemClock, lifecycle(8, 3));
    await waitFor('a failed round while NATS is down', async () => (await relay.stats()).failures >= 2);
    const down = await relay.stats();
    assert.equal(down.published, 2);
    assert.equal(
      down.backlog,
      appended.length - 2 + during.length,
      'the unacknowledged event is still pending',
    );

    await server.start();
    await waitFor('the outbox to drain after the restart', async () => (await relay.stats()).backlog === 0);
    // The 3rd event went to JetStream twice (before the stop and after the restart); the duplicate
    // window, rebuilt from disk on restart, drops the second copy.
    await assertStreamHoldsExactly(server.url, stream, subjectPrefix, [...appended, ...during]);
    assert.equal((await relay.stats()).published, appended.length + during.length);
  });
});
