import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import type { QueueStore, SaleControl } from '../queue-store.ts';
import { MAX_POLL_MS, type QueueTicket, type WaitingRoom } from '../waiting-room.ts';
import { continueDraw } from './draw-run.ts';
import {
  DEFAULT_SALE_ID,
  type FanAdmission,
  type FanStatus,
  type Sale,
  type SaleCounters,
  type SaleDraw,
  type SaleInventory,
  type SaleRecord,
  type SaleStatus,
} from './model.ts';
import type { SalesService } from './sales.ts';

/** One sale's waiting room in this process. */
export interface SaleLine {
  store: QueueStore;
  room: WaitingRoom;
  /** The line's state lives outside this process (Redis): releasing it here loses nothing, it is read again. */
  shared?: boolean;
}

/** Steps a sale's admission window and rate from the health of the booking path (adaptive admission). */
export interface AdmissionGovernor {
  /** The window's bounds from the sale's controls (minWindow, and the lesser of maxActive and maxWindow). */
  setWindowBounds(minWindow: number, maxWindow: number): void;
  /** The sale's admitPerSecond: the most it admits a second; adaptive admission only slows it. */
  setPace(perSecond: number): void;
  stop(): void;
}

/** The seed's ticket, with the sale's states (see docs/sales-api.md). `order` is 0 only for ACTIVE. */
export interface SaleTicket {
  accessKey?: string;
  order: number;
  status: FanStatus;
  position: number;
  etaSeconds: number | null;
  admission: FanAdmission;
  pollAfterMs: number;
  /** Set while PREQUEUE. */
  opensAt?: number;
  /**
   * Set while WAITING: true when the seats left are fewer than the fans ahead (in the room without a seat yet,
   * and in line), so the sale will likely sell out first; etaSeconds is then null. See placesTheSeatsServe.
   */
  beyondSeats?: boolean;
}

/**
 * The places in line the seats left can still serve: the free seats (with the room's overbook) less the admitted
 * fans who hold none yet and will try for one. A fan beyond it is admitted only if someone ahead leaves without
 * a seat (a hold lapses, a fan walks away), which no forecast can promise.
 */
export function placesTheSeatsServe(inventory: SaleInventory, overbook: number, active: number): number {
  return Math.max(0, Math.ceil(inventory.free * overbook) - Math.max(0, active - inventory.held));
}

/** Every process reads the controls from the store at least this often ("follows within a second"). */
const CONTROL_REFRESH_MS = 500;
/** Seat counts come from the database at most this often per sale and process, never per poll. */
const INVENTORY_REFRESH_MS = 1000;
/**
 * Figures only metrics read (revenue; the default sale's seat counts, over the whole catalog) are read again this
 * often: a scrape a second cost the database more than a sale's admission did.
 */
const METRICS_REFRESH_MS = 5000;
/** Stored sale rows (schedules, draw) are read again this often. */
const RECORD_REFRESH_MS = 5000;
/** A process that claimed the draw and died is replaced after this. */
const DRAW_LEASE_MS = 10_000;
const TICK_MS = 250;
/** Sales this process keeps at most, the default sale included; beyond it the least recently used go. */
const MAX_SALES = 200;
/**
 * A sale is released only once no request used it for this long: three of the longest poll advice, so no fan is
 * still polling it here, and no request is under way on it. Another process, or the next request, reads it again.
 */
export const IDLE_RELEASE_MS = 3 * MAX_POLL_MS;
/** Sales with a metric series of their own, besides the default sale; the others are summed as `other`. */
const METRIC_SALES = 10;
/** Poll advice for terminal answers (sold out, closed): only a reopening or new seats change them. */
const LONGEST_POLL_MS = 20_000;

interface LineState extends SaleLine {
  record: SaleRecord;
  recordAt: number;
  control: SaleControl;
  controlAt: number;
  inventory: SaleInventory | undefined;
  inventoryAt: number;
  /** Payments this process made since the inventory was read: seats it knows are sold now (see releaseUser). */
  paidSinceRead: number;
  /** Revenue as last read for metrics. */
  revenue?: { at: number; points: number };
  drawApplied: boolean;
  /** The last request that used the line (ticks do not count). */
  usedAt: number;
  /** This process's run of the draw, under way in the background (requests and other sales go on meanwhile). */
  drawing: Promise<void> | undefined;
  /** The refresh under way, which concurrent requests share. */
  refreshing: Promise<void> | undefined;
  /** Adaptive admission of this sale (not the default sale's, which the server's controller governs). */
  governor: AdmissionGovernor | undefined;
}

/** A key names its sale: `<saleId>.<key>`; the default sale's keys are bare, as the seed's clients have them. */
export function saleOfKey(accessKey: string | undefined): { saleId: number; key: string | undefined } {
  if (accessKey === undefined) return { saleId: DEFAULT_SALE_ID, key: undefined };
  const m = /^(\d{1,9})\.(.*)$/.exec(accessKey);
  return m ? { saleId: Number(m[1]), key: m[2] } : { saleId: DEFAULT_SALE_ID, key: accessKey };
}

const keyOfSale = (saleId: number, key: string): string =>
  saleId === DEFAULT_SALE_ID ? key : `${saleId}.${key}`;

/**
 * One waiting room per sale: builds each sale's line on first use (its own store keys), keeps every process on
 * the controls in the store, holds admission until the draw is applied, and caps it by the inventory.
 */
export class SaleRooms {
  readonly #sales: SalesService;
  readonly #clock: Clock;
  readonly #open: (saleId: number) => SaleLine;
  readonly #lines = new Map<number, LineState>();
  readonly #loading = new Map<number, Promise<LineState>>();
  readonly #onError: (err: unknown, saleId: number) => void;
  readonly #onDefaultControl: (control: SaleControl) => void;
  readonly #govern: (
    saleId: number,
    room: WaitingRoom,
    control: SaleControl,
  ) => AdmissionGovernor | undefined;
  readonly #maxSales: number;
  readonly #drawLeadMs: number;
  #ticker: NodeJS.Timeout | undefined;
  #ticking = false;
  /** This process's id when it claims a draw. */
  readonly #drawHolder = randomUUID();

  constructor(deps: {
    sales: SalesService;
    clock: Clock;
    /** Builds a sale's store and room (the default sale's is the server's waiting room). */
    open: (saleId: number) => SaleLine;
    onError?: (err: unknown, saleId: number) => void;
    /** The default sale's controls, whenever read: its adaptive admission takes minWindow and maxWindow. */
    onDefaultControl?: (control: SaleControl) => void;
    /**
     * Adaptive admission for a sale other than the default one, started when its line is built here (undefined:
     * the sale admits at its controls' rate up to its cap).
     */
    govern?: (saleId: number, room: WaitingRoom, control: SaleControl) => AdmissionGovernor | undefined;
    /** Sales kept at most (MAX_SALES). */
    maxSales?: number;
    /** A scheduled sale draws this long before its opening (0: at the opening); see #fanTicket. */
    drawLeadMs?: number;
  }) {
    this.#maxSales = deps.maxSales ?? MAX_SALES;
    this.#drawLeadMs = deps.drawLeadMs ?? 0;
    this.#onDefaultControl = deps.onDefaultControl ?? (() => {});
    this.#govern = deps.govern ?? (() => undefined);
    this.#sales = deps.sales;
    this.#clock = deps.clock;
    this.#open = deps.open;
    this.#onError = deps.onError ?? (() => {});
  }

  /** A sale as operators see it, with its live status. */
  async sale(saleId: number): Promise<Sale> {
    const line = await this.#line(saleId);
    return this.#view(line);
  }

  async sales(): Promise<Sale[]> {
    const records = await this.#sales.list();
    return Promise.all(records.map((r) => this.sale(r.id)));
  }

  /** Live counters, with seat counts read now. */
  async counters(saleId: number): Promise<SaleCounters> {
    const line = await this.#line(saleId);
    return this.#countersOf(line, this.#sales.inventory(line.record), this.#sales.revenue(line.record));
  }

  async #countersOf(
    line: LineState,
    seats: Promise<SaleInventory>,
    paid: Promise<number>,
  ): Promise<SaleCounters> {
    const [counts, prequeued, inventory, revenue] = await Promise.all([
      line.room.counts(),
      line.store.prequeued(),
      seats,
      paid,
    ]);
    return {
      waiting: counts.waiting,
      prequeued,
      active: counts.active,
      admittedTotal: counts.admittedTotal,
      holds: inventory.held,
      sold: inventory.sold,
      revenue,
      admitPerSecond: counts.measuredAdmitPerSecond ?? counts.admitPerSecond,
      window: counts.window,
      pacePerSecond: counts.admitPerSecond,
    };
  }

  /**
   * Counters for metrics, a bounded set of series: the default sale and the `limit` most recent sales still open
   * that this process runs, each under its id; every other sale it runs is summed under `other`.
   */
  async seriesForMetrics(limit = METRIC_SALES): Promise<Array<{ sale: string; counters: SaleCounters }>> {
    const lines = [...this.#lines.values()].sort((a, b) => b.record.id - a.record.id);
    const open = lines.filter((l) => l.record.id !== DEFAULT_SALE_ID && this.#status(l) !== 'CLOSED');
    const named = new Set([DEFAULT_SALE_ID, ...open.slice(0, limit).map((l) => l.record.id)]);
    const series: Array<{ sale: string; counters: SaleCounters }> = [];
    let other: SaleCounters | undefined;
    for (const line of lines) {
      // Seat counts up to a second old, so no scrape scans per call; a scrape does not count as a use of the sale.
      const counters = await this.#countersOf(line, this.#inventory(line), this.#revenue(line));
      if (named.has(line.record.id)) series.push({ sale: String(line.record.id), counters });
      else other = other ? sumCounters(other, counters) : counters;
    }
    if (other) series.push({ sale: 'other', counters: other });
    return series;
  }

  /** Revenue for metrics, at most METRICS_REFRESH_MS old: a chart's figure, read over every payment of the sale. */
  async #revenue(line: LineState): Promise<number> {
    const now = this.#clock.now();
    if (line.revenue === undefined || now - line.revenue.at >= METRICS_REFRESH_MS)
      line.revenue = { at: now, points: await this.#sales.revenue(line.record) };
    return line.revenue.points;
  }

  /**
   * Seat counts at most INVENTORY_REFRESH_MS old; the default sale's, which admission does not read and which
   * count every schedule of the catalog, at most METRICS_REFRESH_MS.
   */
  async #inventory(line: LineState): Promise<SaleInventory> {
    const now = this.#clock.now();
    const maxAge = line.record.id === DEFAULT_SALE_ID ? METRICS_REFRESH_MS : INVENTORY_REFRESH_MS;
    if (line.inventory === undefined || now - line.inventoryAt >= maxAge) {
      line.paidSinceRead = 0;
      line.inventory = await this.#sales.inventory(line.record);
      line.inventoryAt = now;
    }
    return line.inventory;
  }

  async draw(saleId: number): Promise<SaleDraw> {
    const line = await this.#line(saleId);
    // From the database, not this process's copy of the sale: another process may have drawn a moment ago.
    const order = line.record.opensAt === null ? undefined : await this.#sales.drawOrder(saleId);
    return {
      saleId,
      commitment: line.record.drawCommitment,
      seed: order ? line.record.drawSeed : null,
      entrants: order ? [...order].sort((a, b) => a - b) : null,
      order: order ?? null,
    };
  }

  /** After an operator's change: written to the store (every process follows) and applied here at once. */
  async controlChanged(record: SaleRecord): Promise<void> {
    const line = await this.#line(record.id);
    line.record = record;
    line.recordAt = this.#clock.now();
    line.control = this.#controlOf(record);
    line.controlAt = line.recordAt;
    await line.store.writeSaleControl(line.control);
    this.#limit(line);
  }

  async issue(saleId: number, userId: number): Promise<SaleTicket> {
    const line = await this.#line(saleId);
    const status = this.#status(line);
    if (status === 'CLOSED') throw new DomainError('SALE_CLOSED', `Sale ${saleId} is closed`);
    if (status === 'SOLD_OUT') throw new DomainError('SALE_SOLD_OUT', `Sale ${saleId} is sold out`);
    const ticket = await line.room.issueToken(userId, status === 'SCHEDULED');
    const fan = await this.#fanTicket(line, ticket, userId);
    return { ...fan, accessKey: ticket.accessKey && keyOfSale(saleId, ticket.accessKey) };
  }

  async poll(saleId: number, userId: number, accessKey: string | undefined): Promise<SaleTicket> {
    const line = await this.#line(saleId);
    const ticket = await line.room.poll(userId, this.#keyFor(saleId, accessKey));
    return this.#fanTicket(line, ticket, userId);
  }

  async leave(saleId: number, userId: number, accessKey: string | undefined) {
    const line = await this.#line(saleId);
    return line.room.leave(userId, this.#keyFor(saleId, accessKey));
  }

  /**
   * The booking gate: the key's sale admitted its holder (that user, when named), and the schedule the request
   * names (if any) is one of that sale's. Returns the key's holder.
   */
  async authorize(accessKey: string | undefined, userId?: number, scheduleId?: number): Promise<number> {
    const { saleId, key } = saleOfKey(accessKey);
    const line = await this.#line(saleId).catch((err) => {
      throw isSaleMissing(err) ? new DomainError('TOKEN_INVALID', 'Unknown access key') : err;
    });
    let holder: number;
    if (userId === undefined) holder = await line.room.authorizeAnyAdmitted(key);
    else {
      await line.room.authorizeAdmitted(userId, key);
      holder = userId;
    }
    if (
      scheduleId !== undefined &&
      !line.record.allSchedules &&
      !line.record.scheduleIds.includes(scheduleId)
    )
      throw new DomainError('SCHEDULE_NOT_IN_SALE', `Schedule ${scheduleId} is not part of sale ${saleId}`, {
        saleId,
      });
    return holder;
  }

  /**
   * Frees the user's slot in every sale this process runs (after a payment). The payment sold a seat: each sale
   * counts it off the seats it read as free or held, and reads its counts again only once they may all be gone, so
   * the first poll after the last seat is sold here answers SOLD_OUT. (Read again on every payment, an on-sale's
   * 100 payments a second made the sale's widest read, over every seat of it, 26 times a second.) A seat sold by
   * another process is seen at the next read, within INVENTORY_REFRESH_MS, as before.
   */
  async releaseUser(userId: number): Promise<void> {
    await Promise.all(
      [...this.#lines.values()].map(async (line) => {
        if (line.record.id !== DEFAULT_SALE_ID) {
          line.paidSinceRead++;
          if ((this.#seatsLeft(line) ?? 0) <= 0) line.inventoryAt = 0;
        }
        await line.room.releaseUser(userId);
      }),
    );
  }

  /** One step for every sale this process runs, then the end of any draw it started (tests step with this). */
  async tick(): Promise<void> {
    await this.#step();
    await Promise.all([...this.#lines.values()].map((l) => l.drawing));
  }

  /** Controls, draw (started, not awaited), inventory, then admission, for every sale this process runs. */
  async #step(): Promise<void> {
    // A process steps the sales its users reach; admission lives in the store, so any process's step serves all.
    for (const line of this.#lines.values()) {
      try {
        await this.#refresh(line, true);
        this.#limit(line);
        if (line.record.id !== DEFAULT_SALE_ID || !this.#defaultTicksItself) await line.room.tick();
      } catch (err) {
        this.#onError(err, line.record.id);
      }
    }
    await this.#releaseIdle();
  }

  /** The sales this process runs now. */
  runningSales(): number[] {
    return [...this.#lines.keys()];
  }

  /**
   * Bounds what this process keeps: a closed sale idle for IDLE_RELEASE_MS goes, and beyond maxSales so do the
   * least recently used idle sales whose state lives in a shared store. A sale only this process holds (the
   * memory store) stays while open: releasing it would lose its line. The default sale always stays.
   */
  async #releaseIdle(): Promise<void> {
    const now = this.#clock.now();
    const idle = [...this.#lines.values()]
      .filter(
        (l) =>
          l.record.id !== DEFAULT_SALE_ID &&
          now - l.usedAt >= IDLE_RELEASE_MS &&
          !l.drawing &&
          !l.refreshing &&
          !this.#loading.has(l.record.id),
      )
      .sort((a, b) => a.usedAt - b.usedAt);
    let over = this.#lines.size - this.#maxSales;
    for (const line of idle) {
      const closed = this.#status(line) === 'CLOSED';
      if (!closed && (over <= 0 || !line.shared)) continue;
      this.#lines.delete(line.record.id);
      over--;
      line.governor?.stop();
      line.room.stop();
      await line.store.close().catch((err) => this.#onError(err, line.record.id));
    }
  }

  /** The default sale's room is the server's waiting room, which runs its own ticker. */
  #defaultTicksItself = true;

  start(intervalMs = TICK_MS): void {
    if (this.#ticker) return;
    // The default sale's controls (pause...) reach the server's waiting room even before its first booking.
    this.#line(DEFAULT_SALE_ID).catch((err) => this.#onError(err, DEFAULT_SALE_ID));
    this.#ticker = setInterval(() => {
      if (this.#ticking) return;
      this.#ticking = true;
      this.#step()
        .catch((err) => this.#onError(err, 0))
        .finally(() => {
          this.#ticking = false;
        });
    }, intervalMs);
    this.#ticker.unref();
  }

  stop(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /** Tests drive the default room through this too, with a manual clock. */
  tickDefaultToo(): void {
    this.#defaultTicksItself = false;
  }

  async close(): Promise<void> {
    this.stop();
    await Promise.all(
      [...this.#lines.values()]
        .filter((l) => l.record.id !== DEFAULT_SALE_ID)
        .map(async (l) => {
          l.governor?.stop();
          l.room.stop();
          await l.store.close();
        }),
    );
  }

  #keyFor(saleId: number, accessKey: string | undefined): string | undefined {
    const parsed = saleOfKey(accessKey);
    if (parsed.key !== undefined && parsed.saleId !== saleId)
      throw new DomainError('TOKEN_INVALID', `This key is for sale ${parsed.saleId}, not sale ${saleId}`);
    return parsed.key;
  }

  async #line(saleId: number): Promise<LineState> {
    const known = this.#lines.get(saleId);
    if (known) {
      const now = this.#clock.now();
      known.usedAt = now;
      const stale =
        now - known.controlAt >= CONTROL_REFRESH_MS ||
        (known.record.id !== DEFAULT_SALE_ID && now - known.inventoryAt >= INVENTORY_REFRESH_MS);
      if (stale) {
        await this.#refresh(known, false);
        this.#limit(known);
      }
      return known;
    }
    let loading = this.#loading.get(saleId);
    if (!loading) {
      loading = this.#load(saleId).finally(() => this.#loading.delete(saleId));
      this.#loading.set(saleId, loading);
    }
    return loading;
  }

  async #load(saleId: number): Promise<LineState> {
    const record = await this.#sales.find(saleId);
    const now = this.#clock.now();
    const { store, room, shared } = this.#open(saleId);
    const line: LineState = {
      store,
      room,
      shared,
      record,
      recordAt: now,
      control: this.#controlOf(record),
      controlAt: 0,
      inventory: undefined,
      inventoryAt: 0,
      paidSinceRead: 0,
      drawApplied: record.opensAt === null,
      usedAt: now,
      drawing: undefined,
      refreshing: undefined,
      governor: undefined,
    };
    await this.#refresh(line, true);
    if (saleId !== DEFAULT_SALE_ID && this.#status(line) !== 'CLOSED')
      line.governor = this.#govern(saleId, room, line.control);
    this.#limit(line);
    this.#lines.set(saleId, line);
    return line;
  }

  #controlOf(record: SaleRecord): SaleControl {
    return { ...this.#sales.settingsOf(record), closed: record.closedAt !== null };
  }

  /** Reads what other processes may have changed: controls (0.5 s), seat counts (1 s), the stored row (5 s). */
  #refresh(line: LineState, withDraw: boolean): Promise<void> {
    line.refreshing ??= this.#read(line, withDraw).finally(() => {
      line.refreshing = undefined;
    });
    return line.refreshing;
  }

  async #read(line: LineState, withDraw: boolean): Promise<void> {
    const now = this.#clock.now();
    if (now - line.recordAt >= RECORD_REFRESH_MS) {
      line.record = await this.#sales.find(line.record.id);
      line.recordAt = now;
    }
    if (now - line.controlAt >= CONTROL_REFRESH_MS) {
      const stored = await line.store.readSaleControl();
      // A store that lost its keys (or a new one) gets the stored sale's controls again.
      if (stored) line.control = stored;
      else await line.store.writeSaleControl(line.control);
      line.controlAt = now;
    }
    if (line.record.id !== DEFAULT_SALE_ID && now - line.inventoryAt >= INVENTORY_REFRESH_MS) {
      line.paidSinceRead = 0;
      line.inventory = await this.#sales.inventory(line.record);
      line.inventoryAt = now;
    }
    if (
      withDraw &&
      !line.drawApplied &&
      !line.drawing &&
      line.record.opensAt !== null &&
      now >= line.record.opensAt - this.#drawLeadMs
    )
      await this.#claimDraw(line, now);
  }

  /**
   * At the opening one process claims the draw in the store (so no-one new becomes an entrant); in the background
   * it computes the order from the seed and the entrants still waiting, records it (the first record wins, and the
   * seed is revealed), and puts the drawn ahead of everyone who came after the opening, a slice at a time.
   */
  async #claimDraw(line: LineState, now: number): Promise<void> {
    const claim = await line.store.claimDraw(this.#drawHolder, now, DRAW_LEASE_MS);
    if (claim.outcome === 'applied') await this.#drawApplied(line);
    if (claim.outcome !== 'claimed') return;
    const saleId = line.record.id;
    const run = {
      store: line.store,
      seed: line.record.drawSeed,
      holder: this.#drawHolder,
      leaseMs: DRAW_LEASE_MS,
      now: () => this.#clock.now(),
      recorded: () => this.#sales.drawOrder(saleId),
      record: (order: number[]) => this.#sales.recordDraw(saleId, order),
    };
    line.drawing = continueDraw(run, claim.placed)
      .then((outcome) => (outcome === 'applied' ? this.#drawApplied(line) : undefined))
      .catch((err) => this.#onError(err, saleId))
      .finally(() => {
        line.drawing = undefined;
      });
  }

  async #drawApplied(line: LineState): Promise<void> {
    line.drawApplied = true;
    line.record = await this.#sales.find(line.record.id);
    line.recordAt = this.#clock.now();
    this.#limit(line);
  }

  /**
   * Seats free or held as last read, less those this process sold since: at most what is left (a seat sold
   * elsewhere since is counted at the next read). Undefined before the first read.
   */
  #seatsLeft(line: LineState): number | undefined {
    const inv = line.inventory;
    return inv === undefined ? undefined : Math.max(0, inv.free + inv.held - line.paidSinceRead);
  }

  #soldOut(line: LineState): boolean {
    return this.#seatsLeft(line) === 0;
  }

  #status(line: LineState): SaleStatus {
    if (line.control.closed || line.record.closedAt !== null) return 'CLOSED';
    if (line.record.opensAt !== null && this.#clock.now() < line.record.opensAt) return 'SCHEDULED';
    if (this.#soldOut(line)) return 'SOLD_OUT';
    if (line.control.paused) return 'PAUSED';
    return 'OPEN';
  }

  /** The room's cap and rate from the controls, the draw and the inventory. */
  #limit(line: LineState): void {
    const c = line.control;
    if (line.record.id === DEFAULT_SALE_ID) this.#onDefaultControl(c);
    const status = this.#status(line);
    const halted = status === 'CLOSED' || status === 'SCHEDULED' || status === 'PAUSED' || !line.drawApplied;
    let cap = Math.min(c.maxActive, c.maxWindow);
    const left = this.#seatsLeft(line);
    if (left !== undefined) cap = Math.min(cap, Math.ceil(left * c.overbook));
    line.room.setMaxActive(halted ? 0 : cap);
    // A closed sale admits nobody again: its controller stops reading the store.
    if (status === 'CLOSED' && line.governor) {
      line.governor.stop();
      line.governor = undefined;
    }
    const maxWindow = Math.max(1, Math.min(c.maxActive, c.maxWindow));
    line.governor?.setWindowBounds(Math.max(1, Math.min(c.minWindow, maxWindow)), maxWindow);
    line.governor?.setPace(c.admitPerSecond);
    line.room.setAdmitRate(c.admitPerSecond);
    line.room.holdPlacesUntil(line.record.opensAt ?? 0);
  }

  #view(line: LineState): Sale {
    const r = line.record;
    const { closed: _closed, ...settings } = line.control;
    return {
      id: r.id,
      name: r.name,
      allSchedules: r.allSchedules,
      scheduleIds: r.scheduleIds,
      opensAt: r.opensAt,
      status: this.#status(line),
      drawCommitment: r.drawCommitment,
      drawSeed: r.drawnAt === null ? null : r.drawSeed,
      settings,
      createdAt: r.createdAt,
      closedAt: r.closedAt,
    };
  }

  async #fanTicket(line: LineState, ticket: QueueTicket, userId: number): Promise<SaleTicket> {
    const { accessKey: _key, ...t } = ticket;
    if (t.status === 'ACTIVE') return t;
    const last = Math.max(1, t.position);
    const terminal = (status: 'SOLD_OUT' | 'CLOSED'): SaleTicket => ({
      order: last,
      status,
      position: last,
      etaSeconds: null,
      admission: status,
      pollAfterMs: LONGEST_POLL_MS,
    });
    const status = this.#status(line);
    if (status === 'CLOSED') return terminal('CLOSED');
    if (status === 'SOLD_OUT') return terminal('SOLD_OUT');
    const opensAt = line.record.opensAt;
    if (status === 'SCHEDULED' && opensAt !== null) {
      const now = this.#clock.now();
      const untilOpening = opensAt - now;
      const prequeue = (place: number, pollAfterMs: number): SaleTicket => ({
        order: place,
        status: 'PREQUEUE',
        position: place,
        etaSeconds: Math.ceil(untilOpening / 1000),
        admission: 'PREQUEUE',
        pollAfterMs: Math.min(MAX_POLL_MS, Math.max(1000, pollAfterMs)),
        opensAt,
      });
      // Drawn ahead of the opening: the place is the drawn one, and the fan comes back when admission nears it,
      // the front in order from the opening on rather than all at the opening plus the shortest advice.
      if (line.drawApplied) {
        const place = Math.max(1, t.position);
        return prequeue(place, untilOpening + line.room.firstAskAfterStartMs(place));
      }
      // Nothing a poll can learn changes before the draw but the pre-queue's size, and places are held until the
      // opening: the fan comes back when the draw is there, not at the advice of a place in a line not yet drawn.
      const place = Math.max(1, await line.store.prequeued());
      return prequeue(place, returnAfterDraw(opensAt, this.#drawLeadMs, userId) - now);
    }
    if (status === 'PAUSED') return { ...t, etaSeconds: null, admission: 'PAUSED' };
    const inventory = line.record.id === DEFAULT_SALE_ID ? undefined : line.inventory;
    if (inventory === undefined) return t;
    const reach = placesTheSeatsServe(inventory, line.control.overbook, line.room.occupancy().active);
    return t.position > reach ? { ...t, etaSeconds: null, beyondSeats: true } : { ...t, beyondSeats: false };
  }
}

/**
 * When a pre-queued fan should poll again to learn its drawn place: at the opening when the draw is there; with a
 * draw ahead of it, at a moment of the lead's last three quarters fixed by the user id, so a crowd of N fans comes
 * back at N / (0.75 x lead) a second rather than all at once (the first quarter leaves the draw time to apply).
 */
export function returnAfterDraw(opensAt: number, leadMs: number, userId: number): number {
  if (leadMs <= 0) return opensAt;
  // Knuth's multiplicative hash spreads consecutive ids evenly over [0, 1).
  const share = Math.imul(userId, 2654435761) >>> 0;
  return opensAt - leadMs + leadMs * (0.25 + (0.75 * share) / 2 ** 32);
}

function sumCounters(a: SaleCounters, b: SaleCounters): SaleCounters {
  const sum = { ...a };
  for (const k of Object.keys(b) as Array<keyof SaleCounters>) sum[k] += b[k];
  return sum;
}

const isSaleMissing = (err: unknown): boolean => err instanceof DomainError && err.code === 'SALE_NOT_FOUND';
