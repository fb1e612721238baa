import type { Kysely, Migration } from 'kysely';
import type { DialectCapabilities } from '../database.ts';

/**
 * The hold limit counts a user's live claims (status HELD, not lapsed) in every hold. Indexed by user alone,
 * that count visited each claim the user ever made, sold ones included, so holds slowed as sales went on;
 * with status and expiry in the index it visits the live ones only.
 */
export function liveHoldsByUser({ indexNamesPerTable }: DialectCapabilities): Migration {
  const dropIndex = (db: Kysely<unknown>, name: string) => {
    const drop = db.schema.dropIndex(name);
    return (indexNamesPerTable ? drop.on('seat_claims') : drop).execute();
  };
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('seat_claims_user_live_idx')
        .on('seat_claims')
        .columns(['user_id', 'status', 'expires_at'])
        .execute();
      await dropIndex(db, 'seat_claims_user_idx');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.createIndex('seat_claims_user_idx').on('seat_claims').column('user_id').execute();
      await dropIndex(db, 'seat_claims_user_live_idx');
    },
  };
}
