import { setTimeout as sleep } from 'node:timers/promises';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import type { BookingEvent, BookingEventType } from '../domain/booking/model.ts';
import { type EventLog, type EventPublisher, silentLog } from './bus.ts';

export interface NatsPublisherOptions {
  /** nats://host:port, or several. */
  servers: string | string[];
  /** JetStream stream the events go to; created when missing. */
  stream?: string;
  /** Subjects are `<prefix>.<event type>`; the stream captures `<prefix>.>`. */
  subjectPrefix?: string;
  /** A publish not acknowledged within this fails, so the relay retries later. */
  publishTimeoutMs?: number;
  /** JetStream drops a message whose id it has seen within this window. */
  duplicateWindowMs?: number;
  reconnectTimeWaitMs?: number;
  logger?: EventLog;
}

/**
 * Publishes to NATS JetStream with the event id as message id, so a re-published event is dropped
 * as a duplicate. Connects in the background and reconnects forever; while disconnected a
 * publish fails at once instead of queueing, and the events stay in the outbox.
 */
export class NatsEventPublisher implements EventPublisher {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly #servers: string[];
  readonly #publishTimeoutMs: number;
  readonly #duplicateWindowMs: number;
  readonly #reconnectTimeWaitMs: number;
  readonly #log: EventLog;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #connected = false;
  #closed = false;
  #streamReady: Promise<void> | undefined;
  readonly #connecting: Promise<void>;

  constructor(opts: NatsPublisherOptions) {
    this.#servers = Array.isArray(opts.servers) ? opts.servers : [opts.servers];
    this.stream = opts.stream ?? 'TICKETRUSH';
    this.subjectPrefix = opts.subjectPrefix ?? 'ticketrush';
    this.#publishTimeoutMs = opts.publishTimeoutMs ?? 2000;
    this.#duplicateWindowMs = opts.duplicateWindowMs ?? 120_000;
    this.#reconnectTimeWaitMs = opts.reconnectTimeWaitMs ?? 1000;
    this.#log = opts.logger ?? silentLog;
    this.#connecting = this.#connectUntilUp();
  }

  subjectFor(type: BookingEventType): string {
    return `${this.subjectPrefix}.${type}`;
  }

  get connected(): boolean {
    return this.#connected;
  }

  async publish(event: BookingEvent): Promise<void> {
    const js = this.#js;
    if (!js || !this.#connected) throw new Error(`NATS is not connected (${this.#servers.join(', ')})`);
    try {
      await this.#ensureStream();
      await js.publish(this.subjectFor(event.type), new TextEncoder().encode(JSON.stringify(event)), {
        msgID: event.eventId,
        timeout: this.#publishTimeoutMs,
      });
    } catch (err) {
      // The stream may have been deleted or the server replaced: check it again before the next publish.
      this.#streamReady = undefined;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#connected = false;
    await this.#connecting;
    await this.#nc?.close();
  }

  /** The first connection is retried here (cancellable by close); later drops are the client's reconnects. */
  async #connectUntilUp(): Promise<void> {
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        const nc = await connect({
          servers: this.#servers,
          name: 'ticketrush-outbox-relay',
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.#reconnectTimeWaitMs,
          timeout: this.#publishTimeoutMs,
        });
        if (this.#closed) {
          await nc.close();
          return;
        }
        this.#nc = nc;
        this.#js = jetstream(nc, { timeout: this.#publishTimeoutMs });
        this.#connected = true;
        void this.#watchStatus(nc);
        this.#log.info({ servers: this.#servers, stream: this.stream }, 'events: connected to NATS');
        return;
      } catch (err) {
        if (attempt === 1 || attempt % 30 === 0) {
          this.#log.warn(
            { err: (err as Error).message, servers: this.#servers, attempt },
            'events: cannot reach NATS; outbox events wait until it is up',
          );
        }
        await sleep(this.#reconnectTimeWaitMs, undefined, { ref: false });
      }
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false;
        this.#log.warn({ server: s.server }, 'events: disconnected from NATS; reconnecting');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        this.#log.info({ server: s.server }, 'events: reconnected to NATS');
      }
    }
  }

  #ensureStream(): Promise<void> {
    this.#streamReady ??= this.#addStreamIfMissing().catch((err) => {
      this.#streamReady = undefined;
      throw err;
    });
    return this.#streamReady;
  }

  async #addStreamIfMissing(): Promise<void> {
    const nc = this.#nc;
    if (!nc) throw new Error('NATS is not connected');
    const jsm = await jetstreamManager(nc, { timeout: this.#publishTimeoutMs });
    try {
      await jsm.streams.info(this.stream);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    }
    try {
      await jsm.streams.add({
        name: this.stream,
        subjects: [`${this.subjectPrefix}.>`],
        duplicate_window: nanos(this.#duplicateWindowMs),
      });
    } catch (err) {
      // Another process created it first.
      await jsm.streams.info(this.stream).catch(() => {
        throw err;
      });
    }
  }
}
