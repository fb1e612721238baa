import type { Db } from './database.ts';

export interface SalesTotals {
  /** Seats held and not yet lapsed. */
  holds: number;
  /** Seats paid for. */
  sold: number;
  /** Points paid, in total. */
  revenue: number;
}

/** What the operator console charts; three aggregate reads, no lock. */
export async function salesTotals(db: Db, now: number): Promise<SalesTotals> {
  const [held, paid] = await Promise.all([
    db
      .selectFrom('reservations')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('status', '=', 'HELD')
      .where('expires_at', '>', now)
      .executeTakeFirst(),
    db
      .selectFrom('payments')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('n'),
        eb.fn.sum<number | string | null>('amount').as('total'),
      ])
      .executeTakeFirst(),
  ]);
  return { holds: Number(held?.n ?? 0), sold: Number(paid?.n ?? 0), revenue: Number(paid?.total ?? 0) };
}
