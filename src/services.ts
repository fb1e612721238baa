import type { Database } from './db/database.ts';
import type { BookingStore } from './domain/booking/model.ts';
import type { PaymentService } from './domain/booking/payments.ts';
import type { PointsService } from './domain/booking/points.ts';
import type { ReservationService } from './domain/booking/reservations.ts';
import type { CatalogService } from './domain/catalog.ts';
import type { Clock } from './domain/clock.ts';
import type { IdempotencyService } from './domain/idempotency.ts';
import type { RoutePlugin } from './http/plugin.ts';

/** A dependency that /health/ready reports on. */
export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
}

/** Everything routes need, built once by main.ts (or by a test) and handed to buildApp. */
export interface AppServices {
  clock: Clock;
  database: Database;
  catalog: CatalogService;
  bookingStore: BookingStore;
  reservations: ReservationService;
  points: PointsService;
  payments: PaymentService;
  idempotency: IdempotencyService;
  readiness: DependencyCheck[];
  /** App-wide hooks registered before any route (overload shedding). */
  guards?: RoutePlugin[];
  /** Route plugins contributed by other modules (waiting room, booking, metrics). */
  extraRoutes?: RoutePlugin[];
  // biome-ignore lint/suspicious/noExplicitAny: filled in by later modules
  [extra: string]: any;
}
