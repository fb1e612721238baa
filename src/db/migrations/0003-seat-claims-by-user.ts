import type { Kysely, Migration } from 'kysely';

/** The hold limit counts a user's live claims inside every hold transaction. */
export const seatClaimsByUser: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('seat_claims_user_idx').on('seat_claims').column('user_id').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('seat_claims_user_idx').on('seat_claims').execute();
  },
};
