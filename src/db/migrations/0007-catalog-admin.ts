import type { Kysely, Migration } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

/**
 * Operators: their keys, the audit log, publication flags and stored seat maps.
 * Rows from before this migration stay published and keep the demo's implicit seats ('tiered').
 */
export function catalogAdminSchema({ autoIncrementKey }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('concerts')
        .addColumn('published', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .alterTable('schedules')
        .addColumn('published', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.alterTable('schedules').addColumn('venue', 'varchar(200)').execute();
      await db.schema
        .alterTable('schedules')
        .addColumn('seat_map', 'varchar(8)', (c) => c.notNull().defaultTo('tiered'))
        .execute();

      await db.schema
        .createTable('seats')
        .addColumn('schedule_id', 'integer', (c) => c.notNull())
        .addColumn('seat_id', 'integer', (c) => c.notNull())
        .addColumn('section', 'varchar(50)', (c) => c.notNull())
        .addColumn('row_label', 'varchar(20)', (c) => c.notNull())
        .addColumn('label', 'varchar(20)', (c) => c.notNull())
        .addColumn('price', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('seats_pk', ['schedule_id', 'seat_id'])
        .addUniqueConstraint('seats_place_unique', ['schedule_id', 'section', 'row_label', 'label'])
        .execute();

      await db.schema
        .createTable('operator_keys')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(100)', (c) => c.notNull().unique())
        .addColumn('key_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'varchar(100)', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('seq', autoIncrementKey.type, (c) =>
          autoIncrementKey.autoIncrement ? c.autoIncrement().primaryKey() : c.primaryKey(),
        )
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor_id', 'varchar(36)')
        .addColumn('actor_name', 'varchar(100)', (c) => c.notNull())
        .addColumn('action', 'varchar(64)', (c) => c.notNull())
        .addColumn('entity_type', 'varchar(32)', (c) => c.notNull())
        .addColumn('entity_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('before_json', 'text')
        .addColumn('after_json', 'text')
        .execute();
      await db.schema
        .createIndex('audit_log_entity_idx')
        .on('audit_log')
        .columns(['entity_type', 'entity_id', 'seq'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ['audit_log', 'operator_keys', 'seats'])
        await db.schema.dropTable(t).ifExists().execute();
      for (const c of ['seat_map', 'venue', 'published'])
        await db.schema.alterTable('schedules').dropColumn(c).execute();
      await db.schema.alterTable('concerts').dropColumn('published').execute();
    },
  };
}
