import type { BookingEvent } from '../domain/booking/model.ts';
import { type Logger, silentLogger } from '../logger.ts';

/** Where the outbox relay sends events. Resolving means the bus has acknowledged the event. */
export interface EventPublisher {
  publish(event: BookingEvent): Promise<void>;
  close(): Promise<void>;
}

/** The part of the logger the events code writes to. */
export type EventLog = Pick<Logger, 'info' | 'warn'>;

export const silentLog: EventLog = silentLogger;
