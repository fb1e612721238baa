import { setImmediate } from 'node:timers/promises';
import type { SaleRecord, SaleSettings, SaleStore, SaleTx } from '../domain/sales/model.ts';
import { appendAudit } from './audit-repository.ts';
import type { Database, Db } from './database.ts';
import { insertIgnoringDuplicate, inTransaction } from './transaction.ts';
import type { SalesTable } from './types.ts';

/** Rows per INSERT of a drawn order: well under every dialect's bound-parameter limit. */
const DRAW_BATCH = 500;
/**
 * Places per read of a drawn order: a reply is parsed in one go, and a million rows at once held the event loop
 * for 0.1 to 1.7 s (PostgreSQL, SQLite); a page is a few ms.
 */
const DRAW_PAGE = 10_000;

const saleColumns = [
  'id',
  'name',
  'all_schedules',
  'opens_at',
  'draw_seed',
  'draw_commitment',
  'drawn_at',
  'settings_json',
  'created_at',
  'closed_at',
] as const;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

async function recordOf(db: Db, r: SalesTable): Promise<SaleRecord> {
  const all = Number(r.all_schedules) === 1;
  // A sale of every schedule lists none: the demo has 99,999, and reading them every few seconds stalls SQLite.
  const rows = all
    ? []
    : await db
        .selectFrom('sale_schedules')
        .select('schedule_id')
        .where('sale_id', '=', r.id)
        .orderBy('schedule_id')
        .execute();
  return {
    id: Number(r.id),
    name: r.name,
    allSchedules: all,
    scheduleIds: rows.map((s) => Number(s.schedule_id)),
    opensAt: num(r.opens_at),
    drawSeed: r.draw_seed,
    drawCommitment: r.draw_commitment,
    drawnAt: num(r.drawn_at),
    settings: JSON.parse(r.settings_json) as Partial<SaleSettings>,
    createdAt: Number(r.created_at),
    closedAt: num(r.closed_at),
  };
}

function saleTx(database: Database, trx: Db): SaleTx {
  return {
    async maxSaleId() {
      const r = await trx
        .selectFrom('sales')
        .select((eb) => eb.fn.max('id').as('max'))
        .executeTakeFirst();
      return Number(r?.max ?? 0);
    },
    async insertSale(id, s) {
      const inserted = await insertIgnoringDuplicate(database, trx, 'sales', {
        id,
        name: s.name,
        all_schedules: 0,
        opens_at: s.opensAt,
        draw_seed: s.drawSeed,
        draw_commitment: s.drawCommitment,
        drawn_at: null,
        settings_json: JSON.stringify(s.settings),
        created_at: s.createdAt,
        closed_at: null,
      });
      if (!inserted) return false;
      await trx
        .insertInto('sale_schedules')
        .values(s.scheduleIds.map((scheduleId) => ({ sale_id: id, schedule_id: scheduleId })))
        .execute();
      return true;
    },
    async lockSale(id) {
      const q = trx.selectFrom('sales').select(saleColumns).where('id', '=', id);
      const r = await (database.capabilities.rowLocks ? q.forUpdate() : q).executeTakeFirst();
      return r ? recordOf(trx, r) : undefined;
    },
    async updateSale(id, changes) {
      await trx
        .updateTable('sales')
        .set({
          ...(changes.settings ? { settings_json: JSON.stringify(changes.settings) } : {}),
          ...(changes.closedAt === undefined ? {} : { closed_at: changes.closedAt }),
        })
        .where('id', '=', id)
        .execute();
    },
    async recordDraw(id, order, now) {
      const r = await trx
        .updateTable('sales')
        .set({ drawn_at: now })
        .where('id', '=', id)
        .where('drawn_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      for (let i = 0; i < order.length; i += DRAW_BATCH) {
        await trx
          .insertInto('sale_draws')
          .values(
            order
              .slice(i, i + DRAW_BATCH)
              .map((userId, j) => ({ sale_id: id, place: i + j + 1, user_id: userId })),
          )
          .execute();
        // SQLite answers synchronously: without this a million places held the event loop for 1.8 s.
        await setImmediate();
      }
      return true;
    },
    async existingSchedules(ids) {
      if (ids.length === 0) return [];
      const rows = await trx.selectFrom('schedules').select('id').where('id', 'in', ids).execute();
      return rows.map((r) => Number(r.id));
    },
    audit: (record) => appendAudit(trx, record),
  };
}

export function salesRepository(database: Database): SaleStore {
  const { db } = database;
  return {
    transaction: (fn) => inTransaction(database, (trx) => fn(saleTx(database, trx))),
    async findSale(id) {
      const r = await db.selectFrom('sales').select(saleColumns).where('id', '=', id).executeTakeFirst();
      return r ? recordOf(db, r) : undefined;
    },
    async listSales() {
      const rows = await db.selectFrom('sales').select(saleColumns).orderBy('id').execute();
      return Promise.all(rows.map((r) => recordOf(db, r)));
    },
    async drawOrder(id) {
      const sale = await db.selectFrom('sales').select('drawn_at').where('id', '=', id).executeTakeFirst();
      if (!sale || sale.drawn_at === null) return undefined;
      // The order never changes once drawn_at is set (both written in one transaction): pages read it whole.
      const order: number[] = [];
      for (let from = 0; ; from += DRAW_PAGE) {
        const rows = await db
          .selectFrom('sale_draws')
          .select('user_id')
          .where('sale_id', '=', id)
          .where('place', '>', from)
          .where('place', '<=', from + DRAW_PAGE)
          .orderBy('place')
          .execute();
        for (const r of rows) order.push(Number(r.user_id));
        if (rows.length < DRAW_PAGE) return order;
        await setImmediate();
      }
    },
    async inventory(scheduleIds, all, now) {
      if (!all && scheduleIds.length === 0) return { free: 0, held: 0, sold: 0 };
      const [seats, claims] = await Promise.all([
        (all ? db.selectFrom('schedules') : db.selectFrom('schedules').where('id', 'in', scheduleIds))
          .select((eb) => eb.fn.sum<number | string | null>('seat_count').as('n'))
          .executeTakeFirst(),
        (all
          ? db.selectFrom('seat_claims')
          : db.selectFrom('seat_claims').where('schedule_id', 'in', scheduleIds)
        )
          .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
          .where((w) => w.or([w('status', '=', 'SOLD'), w('expires_at', '>', now)]))
          .groupBy('status')
          .execute(),
      ]);
      const held = Number(claims.find((c) => c.status === 'HELD')?.n ?? 0);
      const sold = Number(claims.find((c) => c.status === 'SOLD')?.n ?? 0);
      const total = Number(seats?.n ?? 0);
      return { free: Math.max(0, total - held - sold), held, sold };
    },
    async revenue(scheduleIds, all) {
      if (!all && scheduleIds.length === 0) return 0;
      const paid = await (all
        ? db.selectFrom('payments').innerJoin('reservations', 'reservations.id', 'payments.reservation_id')
        : db
            .selectFrom('payments')
            .innerJoin('reservations', 'reservations.id', 'payments.reservation_id')
            .where('reservations.schedule_id', 'in', scheduleIds)
      )
        .select((eb) => eb.fn.sum<number | string | null>('payments.amount').as('total'))
        .executeTakeFirst();
      return Number(paid?.total ?? 0);
    },
  };
}
