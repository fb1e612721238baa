import type { BookingEvent } from '../domain/booking/model.ts';
import type { Db } from './database.ts';

/** Written in the same transaction as the change it describes. */
export async function appendOutboxEvent(trx: Db, e: BookingEvent): Promise<void> {
  await trx.insertInto('outbox').values(outboxRow(e)).execute();
}

/** The outbox row of an event, for statements that write it along with other rows. */
export function outboxRow(e: BookingEvent) {
  return {
    event_id: e.eventId,
    aggregate_id: e.aggregateId,
    type: e.type,
    payload: JSON.stringify(e.payload),
    created_at: e.createdAt,
    published_at: null,
  };
}
