import type { Db } from './database.ts';

export interface NewOutboxEvent {
  eventId: string;
  /** Events of one aggregate (a reservation) are published in the order they were written. */
  aggregateId: string;
  type: string;
  payload: Record<string, unknown>;
  createdAt: number;
}

/** Written in the same transaction as the change it describes. */
export async function appendOutboxEvent(trx: Db, e: NewOutboxEvent): Promise<void> {
  await trx
    .insertInto('outbox')
    .values({
      event_id: e.eventId,
      aggregate_id: e.aggregateId,
      type: e.type,
      payload: JSON.stringify(e.payload),
      created_at: e.createdAt,
      published_at: null,
    })
    .execute();
}
