import type { Database } from './db/database.ts';
import type { AuditLog } from './domain/admin/audit.ts';
import type { CatalogAdmin } from './domain/admin/catalog-admin.ts';
import type { OperatorKeys } from './domain/admin/operator-keys.ts';
import type { ResponseWindow } from './domain/admission-controller.ts';
import type { BookingStore } from './domain/booking/model.ts';
import type { PaymentService } from './domain/booking/payments.ts';
import type { PointsService } from './domain/booking/points.ts';
import type { ReservationService } from './domain/booking/reservations.ts';
import type { ProviderTopUps } from './domain/booking/top-ups.ts';
import type { CatalogService } from './domain/catalog.ts';
import type { Clock } from './domain/clock.ts';
import type { IdempotencyService } from './domain/idempotency.ts';
import type { IdentityGate } from './domain/identity.ts';
import type { SaleRooms } from './domain/sales/sale-rooms.ts';
import type { SalesService } from './domain/sales/sales.ts';
import type { WaitingRoom } from './domain/waiting-room.ts';
import type { AdmissionGate } from './http/guard.ts';
import type { TokenIssueLimits } from './http/rate-limit.ts';
import type { Metrics } from './observability/metrics.ts';
import type { PressureMonitor } from './observability/pressure-monitor.ts';
import type { DependencyCheck } from './observability/readiness.ts';

/** Everything routes need, built once by compose.ts (for main.ts, tests and benches) and handed to buildApp. */
export interface AppServices {
  clock: Clock;
  database: Database;
  catalog: CatalogService;
  bookingStore: BookingStore;
  reservations: ReservationService;
  points: PointsService;
  /** Top-ups confirmed by the payment provider's signed callback; absent without TR_PAYMENT_PROVIDER_SECRET. */
  providerTopUps: ProviderTopUps | undefined;
  payments: PaymentService;
  idempotency: IdempotencyService;
  /** The default sale's waiting room (the seed's /api/users/:userId/token routes). */
  waitingRoom: WaitingRoom;
  /** Sales as stored, and every sale's waiting room. */
  sales: SalesService;
  saleRooms: SaleRooms;
  /** Who may call the booking routes: holders of a key the waiting room admitted. */
  admissionGate: AdmissionGate;
  /** Operators' credentials, their catalog changes and the audit log of both (the /admin/api routes). */
  operatorKeys: OperatorKeys;
  catalogAdmin: CatalogAdmin;
  auditLog: AuditLog;
  readiness: DependencyCheck[];
  metrics: Metrics;
  /** The overload guard reads its verdict on every request. */
  pressure: PressureMonitor;
  /** Booking-route answers, which drive the adaptive admission rate. */
  bookingResponses: ResponseWindow;
  /** Who may take a user's place in the waiting room. */
  identity: IdentityGate;
  tokenIssueLimits: TokenIssueLimits;
}
