import type { BookingEventType } from '../domain/booking/model.ts';
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

/**
 * The oldest unpublished rows in seq order. With lockNoWait (PostgreSQL, MySQL; call inside a
 * transaction) the rows are locked FOR UPDATE NOWAIT, so a second relay fails at once instead of
 * publishing the same rows or jumping ahead of them; see isOutboxLocked.
 */
export async function fetchPending(
  db: Db,
  limit: number,
  opts: { lockNoWait?: boolean } = {},
): Promise<PendingOutboxRow[]> {
  const query = db
    .selectFrom('outbox')
    .select(['seq', 'event_id', 'aggregate_id', 'type', 'payload', 'created_at'])
    .where('published_at', 'is', null)
    .orderBy('seq')
    .limit(limit);
  const rows = await (opts.lockNoWait ? query.forUpdate().noWait() : query).execute();
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

/** Deletes events published before olderThan (epoch ms); resolves to how many went. */
export async function purgePublished(db: Db, olderThan: number): Promise<number> {
  const result = await db
    .deleteFrom('outbox')
    .where('published_at', 'is not', null)
    .where('published_at', '<', olderThan)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** True when fetchPending with lockNoWait met rows another relay holds. */
export function isOutboxLocked(err: unknown): boolean {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: string; errno?: number };
  // PostgreSQL lock_not_available; MySQL ER_LOCK_NOWAIT; MariaDB reports NOWAIT as a lock wait timeout.
  return e.code === '55P03' || e.errno === 3572 || e.errno === 1205;
}
