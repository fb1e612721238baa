import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

/** The whole schema, the same on SQLite, PostgreSQL and MariaDB/MySQL. */
export function initialSchema({ autoIncrementKey }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'varchar(100)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('concerts')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('title', 'varchar(200)', (c) => c.notNull())
        .addColumn('artist', 'varchar(200)', (c) => c.notNull())
        .addColumn('venue', 'varchar(200)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('schedules')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('concert_id', 'integer', (c) => c.notNull().references('concerts.id'))
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('seat_count', 'integer', (c) => c.notNull())
        .addColumn('base_price', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('schedules_concert_idx')
        .on('schedules')
        .columns(['concert_id', 'id'])
        .execute();

      await db.schema
        .createTable('reservations')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('schedule_id', 'integer', (c) => c.notNull())
        .addColumn('seat_id', 'integer', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('price', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('reservations_user_idx')
        .on('reservations')
        .columns(['user_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('reservations_status_expiry_idx')
        .on('reservations')
        .columns(['status', 'expires_at'])
        .execute();

      // The primary key is the guarantee: at most one claim (hold or sale) per seat.
      await db.schema
        .createTable('seat_claims')
        .addColumn('schedule_id', 'integer', (c) => c.notNull())
        .addColumn('seat_id', 'integer', (c) => c.notNull())
        .addColumn('reservation_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('status', 'varchar(8)', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('seat_claims_pk', ['schedule_id', 'seat_id'])
        .execute();
      await db.schema
        .createIndex('seat_claims_reservation_idx')
        .on('seat_claims')
        .column('reservation_id')
        .execute();

      await db.schema
        .createTable('point_wallets')
        .addColumn('user_id', 'integer', (c) => c.primaryKey())
        .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addCheckConstraint('point_wallets_balance_nonnegative', sql`balance >= 0`)
        .execute();

      await db.schema
        .createTable('point_ledger')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('delta', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'varchar(16)', (c) => c.notNull())
        .addColumn('reference_id', 'varchar(36)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('point_ledger_user_idx')
        .on('point_ledger')
        .columns(['user_id', 'created_at'])
        .execute();

      await db.schema
        .createTable('payments')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('reservation_id', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('outbox')
        .addColumn('seq', autoIncrementKey.type, (c) =>
          autoIncrementKey.autoIncrement ? c.autoIncrement().primaryKey() : c.primaryKey(),
        )
        .addColumn('event_id', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('aggregate_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('type', 'varchar(64)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('published_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('outbox_pending_idx')
        .on('outbox')
        .columns(['published_at', 'seq'])
        .execute();

      await db.schema
        .createTable('idempotency_keys')
        .addColumn('scope', 'varchar(64)', (c) => c.notNull())
        .addColumn('idem_key', 'varchar(128)', (c) => c.notNull())
        .addColumn('request_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('status_code', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'idem_key'])
        .execute();
      await db.schema
        .createIndex('idempotency_expiry_idx')
        .on('idempotency_keys')
        .column('expires_at')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of [
        'idempotency_keys',
        'outbox',
        'payments',
        'point_ledger',
        'point_wallets',
        'seat_claims',
        'reservations',
        'schedules',
        'concerts',
        'users',
      ]) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  };
}
