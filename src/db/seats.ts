import type { StoredSeat } from '../domain/admin/seat-map.ts';
import type { Db } from './database.ts';

/** The stored seat map of a schedule, in seat-id order. */
export async function storedSeatsOf(db: Db, scheduleId: number): Promise<StoredSeat[]> {
  const rows = await db
    .selectFrom('seats')
    .select(['seat_id', 'section', 'row_label', 'label', 'price'])
    .where('schedule_id', '=', scheduleId)
    .orderBy('seat_id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.seat_id),
    section: r.section,
    row: r.row_label,
    label: r.label,
    price: Number(r.price),
  }));
}
