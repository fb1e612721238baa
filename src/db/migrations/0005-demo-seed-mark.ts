import type { Kysely, Migration } from 'kysely';

/** The demo seed leaves its mark, so `serve` can tell its own demo data from data that came from elsewhere. */
export const demoSeedMark: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('demo_seed')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('seeded_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('demo_seed').ifExists().execute();
  },
};
