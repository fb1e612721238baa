import type { BookingEventType } from '../domain/booking/model.ts';
import { deleteInBatches } from './batched-delete.ts';
import type { Db } from './database.ts';

/** An outbox row still waiting for the relay. */
export interface PendingOutboxRow {
  seq: number;
  eventId: string;
  aggregateId: string;
  type: BookingEventType;
  /** JSON text, as written by appendOutboxEvent. */
  payload: string;
  createdAt: number;
}

export interface OutboxBacklog {
  count: number;
  /** created_at of the oldest unpublished event; null when nothing is pending. */
  oldestCreatedAt: number | null;
}

/** The oldest unpublished rows in seq order; only the holder of the relay lease publishes them. */
export async function fetchPending(db: Db, limit: number): Promise<PendingOutboxRow[]> {
  const rows = await db
    .selectFrom('outbox')
    .select(['seq', 'event_id', 'aggregate_id', 'type', 'payload', 'created_at'])
    .where('published_at', 'is', null)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    eventId: r.event_id,
    aggregateId: r.aggregate_id,
    // The outbox only holds types the booking code writes.
    type: r.type as BookingEventType,
    payload: r.payload,
    createdAt: Number(r.created_at),
  }));
}

/**
 * Grants the one publishing lease to `holder` until `until` when it is lapsed or already the holder's: a
 * conditional update decides between relays of several processes. True when granted.
 */
export async function claimRelayLease(db: Db, holder: string, now: number, until: number): Promise<boolean> {
  const r = await db
    .updateTable('outbox_relay_lease')
    .set({ holder, expires_at: until })
    .where('name', '=', 'outbox')
    .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at', '<=', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Gives the lease up at once, so another process's relay need not wait for it to lapse. */
export async function releaseRelayLease(db: Db, holder: string): Promise<void> {
  await db
    .updateTable('outbox_relay_lease')
    .set({ expires_at: 0 })
    .where('name', '=', 'outbox')
    .where('holder', '=', holder)
    .execute();
}

/** Resolves to the number of rows this call marked (a row another relay marked first is not counted). */
export async function markPublished(db: Db, seqs: number[], now: number): Promise<number> {
  if (seqs.length === 0) return 0;
  const result = await db
    .updateTable('outbox')
    .set({ published_at: now })
    .where('seq', 'in', seqs)
    .where('published_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function backlog(db: Db): Promise<OutboxBacklog> {
  const row = await db
    .selectFrom('outbox')
    .select((eb) => [eb.fn.countAll().as('count'), eb.fn.min('created_at').as('oldest')])
    .where('published_at', 'is', null)
    .executeTakeFirstOrThrow();
  const count = Number(row.count);
  return { count, oldestCreatedAt: count === 0 || row.oldest === null ? null : Number(row.oldest) };
}

/** Deletes events published before olderThan (epoch ms) in bounded batches; resolves to how many went. */
export function purgePublished(db: Db, olderThan: number): Promise<number> {
  return deleteInBatches(async (batchSize) => {
    const old = await db
      .selectFrom('outbox')
      .select('seq')
      .where('published_at', 'is not', null)
      .where('published_at', '<', olderThan)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    if (old.length === 0) return 0;
    const result = await db
      .deleteFrom('outbox')
      .where(
        'seq',
        'in',
        old.map((r) => r.seq),
      )
      .where('published_at', 'is not', null)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}
