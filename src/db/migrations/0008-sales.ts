import type { Kysely, Migration } from 'kysely';
import { drawCommitment, newDrawSeed } from '../../domain/sales/draw.ts';

/**
 * Sales: each covers schedules (sale_schedules, or every schedule with all_schedules = 1) and owns a waiting
 * room. The draw seed stays secret until drawn_at; sale_draws keeps the drawn order, one row per place.
 * Sale 1 is the default sale the seed's token routes use: every schedule, open at once.
 */
export const salesSchema: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('sales')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('all_schedules', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('opens_at', 'bigint')
      .addColumn('draw_seed', 'varchar(64)', (c) => c.notNull())
      .addColumn('draw_commitment', 'varchar(64)', (c) => c.notNull())
      .addColumn('drawn_at', 'bigint')
      .addColumn('settings_json', 'varchar(1000)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('closed_at', 'bigint')
      .execute();
    await db.schema
      .createTable('sale_schedules')
      .addColumn('sale_id', 'integer', (c) => c.notNull())
      .addColumn('schedule_id', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('sale_schedules_pk', ['sale_id', 'schedule_id'])
      .execute();
    await db.schema
      .createTable('sale_draws')
      .addColumn('sale_id', 'integer', (c) => c.notNull())
      .addColumn('place', 'integer', (c) => c.notNull())
      .addColumn('user_id', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('sale_draws_pk', ['sale_id', 'place'])
      .execute();
    const seed = newDrawSeed();
    await (db as Kysely<Record<string, Record<string, unknown>>>)
      .insertInto('sales')
      .values({
        id: 1,
        name: 'default',
        all_schedules: 1,
        opens_at: null,
        draw_seed: seed,
        draw_commitment: drawCommitment(seed),
        drawn_at: null,
        settings_json: '{}',
        created_at: Date.now(),
        closed_at: null,
      })
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const t of ['sale_draws', 'sale_schedules', 'sales'])
      await db.schema.dropTable(t).ifExists().execute();
  },
};
