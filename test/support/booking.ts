import { bookingRepository } from '../../src/db/booking-repository.ts';
import { catalogRepository } from '../../src/db/catalog-repository.ts';
import type { Database } from '../../src/db/database.ts';
import { idempotencyRepository } from '../../src/db/idempotency-repository.ts';
import { seedDemoData } from '../../src/db/seed.ts';
import { PaymentService } from '../../src/domain/booking/payments.ts';
import { PointsService } from '../../src/domain/booking/points.ts';
import { ReservationService } from '../../src/domain/booking/reservations.ts';
import { CatalogService } from '../../src/domain/catalog.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { IdempotencyService } from '../../src/domain/idempotency.ts';

export const HOLD_TTL_SECONDS = 300;

/** The booking services on a real database, with a clock the test moves. */
export async function bookingOn(database: Database) {
  await seedDemoData(database.db, {
    users: 20,
    schedules: 300,
    schedulesPerConcert: 50,
    seatsPerSchedule: 100,
  });
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 12));
  const store = bookingRepository(database);
  const catalog = new CatalogService(catalogRepository(database.db), clock);
  const paidUsers: number[] = [];
  return {
    clock,
    store,
    catalog,
    paidUsers,
    reservations: new ReservationService({ store, catalog, clock, holdTtlSeconds: HOLD_TTL_SECONDS }),
    points: new PointsService({ store, clock }),
    payments: new PaymentService({ store, clock, afterPaid: (u) => void paidUsers.push(u) }),
    idempotency: new IdempotencyService(idempotencyRepository(database), clock),
  };
}
