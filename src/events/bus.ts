/** The events the booking code writes to the outbox. */
export type EventType =
  | 'reservation.held'
  | 'reservation.expired'
  | 'reservation.released'
  | 'payment.completed';

export const EVENT_TYPES: readonly EventType[] = [
  'reservation.held',
  'reservation.expired',
  'reservation.released',
  'payment.completed',
];

export interface OutboxEvent {
  /** Unique per event; a bus that dedupes (JetStream) uses it as the message id. */
  eventId: string;
  /** Events of one aggregate (a reservation) are published in the order they were written. */
  aggregateId: string;
  type: EventType;
  payload: Record<string, unknown>;
  /** Epoch milliseconds, when the change was committed. */
  createdAt: number;
}

/** Where the outbox relay sends events. Resolving means the bus has acknowledged the event. */
export interface EventPublisher {
  publish(event: OutboxEvent): Promise<void>;
  close(): Promise<void>;
}

/** The slice of a pino logger the events code writes to. */
export interface EventLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLog: EventLog = { info: () => {}, warn: () => {} };
