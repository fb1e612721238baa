import type { BookingEvent } from '../domain/booking/model.ts';

/** Where the outbox relay sends events. Resolving means the bus has acknowledged the event. */
export interface EventPublisher {
  publish(event: BookingEvent): Promise<void>;
  close(): Promise<void>;
}

/** The slice of a pino logger the events code writes to. */
export interface EventLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLog: EventLog = { info: () => {}, warn: () => {} };
