import { type Kysely, type Migration, type MigrationResultSet, Migrator } from 'kysely';
import type { Database } from './database.ts';
import { initialSchema } from './migrations/0001-initial.ts';
import { idempotencyExactKeys } from './migrations/0002-idempotency-exact-keys.ts';
import { seatClaimsByUser } from './migrations/0003-seat-claims-by-user.ts';
import { outboxRelayLease } from './migrations/0004-outbox-relay-lease.ts';
import { demoSeedMark } from './migrations/0005-demo-seed-mark.ts';
import { providerTopUps } from './migrations/0006-provider-top-ups.ts';
import { catalogAdminSchema } from './migrations/0007-catalog-admin.ts';
import { salesSchema } from './migrations/0008-sales.ts';
import { liveHoldsByUser } from './migrations/0009-live-holds-by-user.ts';
import { bookingProcedures } from './migrations/0010-booking-procedures.ts';
import { claimsBySeat } from './migrations/0011-claims-by-seat.ts';
import { holdClaimsNewKey } from './migrations/0012-hold-claims-new-key.ts';
import { liveHoldBound } from './migrations/0013-live-hold-bound.ts';
import { holdBoundOnWallet } from './migrations/0014-hold-bound-on-wallet.ts';
import { holdBatches } from './migrations/0015-hold-batches.ts';
import { paymentBatches } from './migrations/0016-payment-batches.ts';

function migrationsFor(database: Database): Record<string, Migration> {
  return {
    '0001-initial': initialSchema(database.capabilities),
    '0002-idempotency-exact-keys': idempotencyExactKeys(database.capabilities),
    '0003-seat-claims-by-user': seatClaimsByUser,
    '0004-outbox-relay-lease': outboxRelayLease,
    '0005-demo-seed-mark': demoSeedMark,
    '0006-provider-top-ups': providerTopUps(database.capabilities),
    '0007-catalog-admin': catalogAdminSchema(database.capabilities),
    '0008-sales': salesSchema,
    '0009-live-holds-by-user': liveHoldsByUser(database.capabilities),
    '0010-booking-procedures': bookingProcedures(database.capabilities),
    '0011-claims-by-seat': claimsBySeat(database.capabilities),
    '0012-hold-claims-new-key': holdClaimsNewKey(database.capabilities),
    '0013-live-hold-bound': liveHoldBound(database.capabilities),
    '0014-hold-bound-on-wallet': holdBoundOnWallet(database.capabilities),
    '0015-hold-batches': holdBatches(database.capabilities),
    '0016-payment-batches': paymentBatches(database.capabilities),
  };
}

/** Brings the schema up to date; safe to run any number of times and from several processes. */
export async function migrateToLatest(database: Database): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db as unknown as Kysely<unknown>,
    provider: { getMigrations: async () => migrationsFor(database) },
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${(result.error as Error).message ?? result.error}`);
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
