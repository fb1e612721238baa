import { type Kysely, type Migration, sql } from 'kysely';

/**
 * One relay at a time publishes the outbox: the one whose lease a conditional UPDATE granted. It publishes
 * outside any transaction, so no row lock is held while the broker is slow or away.
 */
export const outboxRelayLease: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('outbox_relay_lease')
      .addColumn('name', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('holder', 'varchar(64)', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await sql`insert into outbox_relay_lease (name, holder, expires_at) values ('outbox', '', 0)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('outbox_relay_lease').ifExists().execute();
  },
};
