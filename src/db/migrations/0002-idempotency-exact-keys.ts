import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

/**
 * Idempotency keys compare byte for byte on every database ('k' is not 'K' nor 'k '), and a key remembers a
 * digest of the credential that sent it, so only that caller can fetch its stored answer before the gate.
 */
export function idempotencyExactKeys({ bytewiseVarchar }: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (!bytewiseVarchar) {
        // A key is at most 128 characters of at most 4 bytes each.
        await db.schema
          .alterTable('idempotency_keys')
          .modifyColumn('idem_key', sql`varbinary(512)`, (c) => c.notNull())
          .execute();
      }
      await db.schema.alterTable('idempotency_keys').addColumn('caller_digest', 'varchar(64)').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('idempotency_keys').dropColumn('caller_digest').execute();
      if (!bytewiseVarchar) {
        await db.schema
          .alterTable('idempotency_keys')
          .modifyColumn('idem_key', 'varchar(128)', (c) => c.notNull())
          .execute();
      }
    },
  };
}
