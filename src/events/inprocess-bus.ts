import type { BookingEvent, BookingEventType } from '../domain/booking/model.ts';
import type { EventLog, EventPublisher } from './bus.ts';
import { silentLog } from './bus.ts';

export type EventHandler = (event: BookingEvent) => void | Promise<void>;

/**
 * Delivers events to subscribers in this process, one event at a time in publish order.
 * A subscriber that throws is logged and counted; it never fails the publish, so it cannot stall the relay.
 */
export class InProcessEventBus implements EventPublisher {
  readonly #handlers = new Map<BookingEventType | '*', Set<EventHandler>>();
  readonly #log: EventLog;
  #published = 0;
  #handlerErrors = 0;

  constructor(opts: { log?: EventLog } = {}) {
    this.#log = opts.log ?? silentLog;
  }

  /** Returns a function that removes the subscription. */
  subscribe(type: BookingEventType | '*', handler: EventHandler): () => void {
    let set = this.#handlers.get(type);
    if (!set) {
      set = new Set();
      this.#handlers.set(type, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  async publish(event: BookingEvent): Promise<void> {
    this.#published++;
    const handlers = [...(this.#handlers.get(event.type) ?? []), ...(this.#handlers.get('*') ?? [])];
    for (const handler of handlers) {
      try {
        await handler(event);
      } catch (err) {
        this.#handlerErrors++;
        this.#log.warn(
          { err, eventId: event.eventId, type: event.type },
          'in-process event subscriber failed; event not retried',
        );
      }
    }
  }

  get stats(): { published: number; handlerErrors: number } {
    return { published: this.#published, handlerErrors: this.#handlerErrors };
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}
