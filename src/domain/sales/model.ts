import type { AuditRecord } from '../admin/audit.ts';

/** The sale every seed route (/api/users/:userId/token) uses: all schedules, open at once. */
export const DEFAULT_SALE_ID = 1;

/** What an operator may change while a sale runs; every process follows a change within a second. */
export interface SaleSettings {
  admitPerSecond: number;
  maxActive: number;
  /** Bounds of the adaptive window (the default sale's controller; other sales admit up to maxActive). */
  minWindow: number;
  maxWindow: number;
  /** Users admitted at once per seat still free or held: the window is ceil((free + held) x overbook). */
  overbook: number;
  paused: boolean;
}

/** SCHEDULED, OPEN and CLOSED are stored; PAUSED and SOLD_OUT are read live (control, inventory). */
export type SaleStatus = 'SCHEDULED' | 'OPEN' | 'PAUSED' | 'SOLD_OUT' | 'CLOSED';

/** A fan's place in a sale's line, as the ticket says it. */
export type FanStatus = 'PREQUEUE' | 'WAITING' | 'ACTIVE' | 'SOLD_OUT' | 'CLOSED';
/**
 * How a fan's admission is going. Kept here, free of Node's types, so the waiting page takes it from the server
 * (a type-only import) rather than listing the values again.
 */
export type FanAdmission =
  | 'ADMITTED'
  | 'MOVING'
  | 'ESTIMATING'
  | 'STALLED'
  | 'PAUSED'
  | 'PREQUEUE'
  | 'SOLD_OUT'
  | 'CLOSED';

/** A sale as stored. */
export interface SaleRecord {
  id: number;
  name: string;
  /** Every schedule, present and future (the default sale): scheduleIds is then empty. */
  allSchedules: boolean;
  scheduleIds: number[];
  opensAt: number | null;
  drawSeed: string;
  drawCommitment: string;
  /** When the draw was applied and the seed revealed; null before. */
  drawnAt: number | null;
  /** What an operator set; the rest follows the server's configuration. */
  settings: Partial<SaleSettings>;
  createdAt: number;
  closedAt: number | null;
}

/** A sale as operators see it. */
export interface Sale {
  id: number;
  name: string;
  /** Every schedule, present and future; scheduleIds is then empty. */
  allSchedules: boolean;
  scheduleIds: number[];
  opensAt: number | null;
  status: SaleStatus;
  drawCommitment: string;
  drawSeed: string | null;
  settings: SaleSettings;
  createdAt: number;
  closedAt: number | null;
}

/** What `ticketrush verify-draw <url>` reads: null fields until the draw was applied. */
export interface SaleDraw {
  saleId: number;
  commitment: string;
  seed: string | null;
  entrants: number[] | null;
  order: number[] | null;
}

export interface SaleCounters {
  waiting: number;
  prequeued: number;
  active: number;
  admittedTotal: number;
  holds: number;
  sold: number;
  revenue: number;
  admitPerSecond: number;
  /** Users admitted at once at most, as adaptive admission sets it (or the sale's cap); 0 while admission is halted. */
  window: number;
  /** The admission rate in force (adaptive admission's, at most the sale's admitPerSecond). */
  pacePerSecond: number;
}

/** Seats of a sale's schedules, as the database has them now. */
export interface SaleInventory {
  /** Seats neither held nor sold. */
  free: number;
  /** Seats held (not lapsed). */
  held: number;
  sold: number;
}

export interface NewSale {
  name: string;
  scheduleIds: number[];
  opensAt: number | null;
  drawSeed: string;
  drawCommitment: string;
  settings: Partial<SaleSettings>;
  createdAt: number;
}

export interface SaleTx {
  maxSaleId(): Promise<number>;
  insertSale(id: number, sale: NewSale): Promise<boolean>;
  lockSale(id: number): Promise<SaleRecord | undefined>;
  updateSale(id: number, changes: { settings?: Partial<SaleSettings>; closedAt?: number }): Promise<void>;
  /** Records the drawn order and reveals the seed; false when another process recorded it first. */
  recordDraw(id: number, order: number[], now: number): Promise<boolean>;
  /** Which of these schedule ids exist. */
  existingSchedules(ids: number[]): Promise<number[]>;
  audit(record: AuditRecord): Promise<void>;
}

/** The sales' storage; each change runs in one transaction with its audit entry. */
export interface SaleStore {
  transaction<T>(fn: (tx: SaleTx) => Promise<T>): Promise<T>;
  findSale(id: number): Promise<SaleRecord | undefined>;
  listSales(): Promise<SaleRecord[]>;
  /** The drawn order, first in line first; undefined before the draw. */
  drawOrder(id: number): Promise<number[] | undefined>;
  /**
   * Free, held and sold seats of these schedules (every schedule when `all`): what admission and sold-out read,
   * after every payment.
   */
  inventory(scheduleIds: number[], all: boolean, now: number): Promise<SaleInventory>;
  /** Points paid for the sale's seats (a join over payments: for counters and metrics, never per request). */
  revenue(scheduleIds: number[], all: boolean): Promise<number>;
}
