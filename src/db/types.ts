import type { Generated } from 'kysely';

/** Timestamps are epoch milliseconds in BIGINT columns; money and points are integers. */
export interface UsersTable {
  id: number;
  name: string;
  created_at: number;
}

export interface ConcertsTable {
  id: number;
  title: string;
  artist: string;
  venue: string;
  created_at: number;
  /** 1 when fans see it; operators' new concerts start at 0. */
  published: Generated<number>;
}

export interface SchedulesTable {
  id: number;
  concert_id: number;
  starts_at: number;
  seat_count: number;
  /** Price of the cheapest seat; seat tiers are derived from it (see domain/pricing.ts). */
  base_price: number;
  published: Generated<number>;
  /** Where this show is, when not at the concert's venue. */
  venue: string | null;
  /** 'tiered': seats 1..seat_count priced from base_price (the demo); 'stored': rows in `seats`. */
  seat_map: Generated<string>;
}

/** One seat of a stored seat map; seat_id is what reservations and claims name. */
export interface SeatsTable {
  schedule_id: number;
  seat_id: number;
  section: string;
  row_label: string;
  label: string;
  price: number;
}

/** Only the SHA-256 of a key is stored; the key itself is shown once. */
export interface OperatorKeysTable {
  id: string;
  name: string;
  key_hash: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: number;
  actor_id: string | null;
  actor_name: string;
  action: string;
  entity_type: string;
  entity_id: string;
  before_json: string | null;
  after_json: string | null;
}

/**
 * One row per seat that is held or sold. The primary key (schedule_id, seat_id) is what makes
 * two active holds on one seat impossible; an untouched seat has no row.
 */
export interface SeatClaimsTable {
  schedule_id: number;
  seat_id: number;
  reservation_id: string;
  user_id: number;
  /** HELD or SOLD. */
  status: string;
  /** For HELD: when the hold lapses. For SOLD: never read. */
  expires_at: number;
}

export interface ReservationsTable {
  id: string;
  user_id: number;
  schedule_id: number;
  seat_id: number;
  /** HELD, CONFIRMED, RELEASED or EXPIRED. */
  status: string;
  price: number;
  created_at: number;
  expires_at: number;
  updated_at: number;
}

export interface PointWalletsTable {
  user_id: number;
  balance: number;
  updated_at: number;
}

export interface PointLedgerTable {
  id: string;
  user_id: number;
  /** Positive for a charge, negative for a payment. */
  delta: number;
  reason: string;
  reference_id: string | null;
  created_at: number;
}

export interface ProviderTopUpsTable {
  event_id: string;
  user_id: number;
  amount: number;
  ledger_id: string;
  created_at: number;
}

export interface PaymentsTable {
  id: string;
  reservation_id: string;
  user_id: number;
  amount: number;
  created_at: number;
}

export interface OutboxTable {
  seq: Generated<number>;
  event_id: string;
  /** The entity whose events must stay in order, e.g. a reservation id. */
  aggregate_id: string;
  type: string;
  payload: string;
  created_at: number;
  published_at: number | null;
}

export interface IdempotencyKeysTable {
  scope: string;
  idem_key: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: number;
  expires_at: number;
  /** SHA-256 of the credential that sent the first request; null on rows from before it was kept. */
  caller_digest: string | null;
}

/** Which relay may publish the outbox, until when (epoch ms). */
export interface OutboxRelayLeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** Written by the demo seed, so `serve` can tell its data from data that came from elsewhere. */
export interface DemoSeedTable {
  id: number;
  seeded_at: number;
}

export interface SalesTable {
  id: number;
  name: string;
  /** 1: every schedule (the default sale); 0: those in sale_schedules. */
  all_schedules: number;
  opens_at: number | null;
  /** Secret until drawn_at. */
  draw_seed: string;
  draw_commitment: string;
  drawn_at: number | null;
  /** What an operator set of SaleSettings; the rest follows the configuration. */
  settings_json: string;
  created_at: number;
  closed_at: number | null;
}

export interface SaleSchedulesTable {
  sale_id: number;
  schedule_id: number;
}

/** A sale's drawn order: place 1 is first in line. */
export interface SaleDrawsTable {
  sale_id: number;
  place: number;
  user_id: number;
}

export interface Tables {
  users: UsersTable;
  concerts: ConcertsTable;
  schedules: SchedulesTable;
  seat_claims: SeatClaimsTable;
  reservations: ReservationsTable;
  point_wallets: PointWalletsTable;
  point_ledger: PointLedgerTable;
  provider_top_ups: ProviderTopUpsTable;
  payments: PaymentsTable;
  outbox: OutboxTable;
  idempotency_keys: IdempotencyKeysTable;
  outbox_relay_lease: OutboxRelayLeaseTable;
  demo_seed: DemoSeedTable;
  seats: SeatsTable;
  operator_keys: OperatorKeysTable;
  audit_log: AuditLogTable;
  sales: SalesTable;
  sale_schedules: SaleSchedulesTable;
  sale_draws: SaleDrawsTable;
}
