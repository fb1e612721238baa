import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

/**
 * Top-ups a payment provider confirmed, one row per provider event: the primary key is what makes a replayed
 * callback credit nothing. Event ids compare byte for byte ('evt_A' is not 'evt_a'), varbinary where varchar
 * would not.
 */
export function providerTopUps({ bytewiseVarchar }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('provider_top_ups')
        .addColumn('event_id', bytewiseVarchar ? 'varchar(128)' : sql`varbinary(128)`, (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('ledger_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('provider_top_ups').ifExists().execute();
    },
  };
}
