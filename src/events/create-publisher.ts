import type { EventLog } from './bus.ts';
import { InProcessEventBus } from './inprocess-bus.ts';
import { NatsEventPublisher } from './nats-bus.ts';

/**
 * `inprocess` or `nats://host:port` (Config.events, TR_EVENTS). NATS connects in the background, so
 * start-up does not wait for it. The in-process bus is returned as such, so its caller can subscribe.
 */
export function createPublisher(
  events: string,
  opts: { logger?: EventLog } = {},
): InProcessEventBus | NatsEventPublisher {
  if (events === 'inprocess') return new InProcessEventBus({ log: opts.logger });
  if (events.startsWith('nats://')) return new NatsEventPublisher({ servers: events, logger: opts.logger });
  throw new Error(`TR_EVENTS: expected inprocess or nats://host:port, got ${JSON.stringify(events)}`);
}
