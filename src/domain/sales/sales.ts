import type { Actor } from '../admin/audit.ts';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import { drawCommitment, newDrawSeed } from './draw.ts';
import { DEFAULT_SALE_ID, type SaleRecord, type SaleSettings, type SaleStore } from './model.ts';

export interface NewSaleInput {
  name: string;
  scheduleIds: number[];
  opensAt?: number | null;
  admitPerSecond?: number;
  maxActive?: number;
  overbook?: number;
}

export type SettingsChange = Partial<Omit<SaleSettings, 'paused'>>;

/** The operator's side of sales: creation and every change, each in one transaction with its audit entry. */
export class SalesService {
  readonly #store: SaleStore;
  readonly #clock: Clock;
  readonly #defaults: SaleSettings;

  constructor(store: SaleStore, clock: Clock, defaults: SaleSettings) {
    this.#store = store;
    this.#clock = clock;
    this.#defaults = defaults;
  }

  /** What an operator set, over the server's configuration. */
  settingsOf(record: SaleRecord): SaleSettings {
    return { ...this.#defaults, ...record.settings };
  }

  async find(saleId: number): Promise<SaleRecord> {
    const sale = await this.#store.findSale(saleId);
    if (!sale) throw new DomainError('SALE_NOT_FOUND', `Sale ${saleId} does not exist`);
    return sale;
  }

  list(): Promise<SaleRecord[]> {
    return this.#store.listSales();
  }

  drawOrder(saleId: number): Promise<number[] | undefined> {
    return this.#store.drawOrder(saleId);
  }

  inventory(sale: SaleRecord) {
    return this.#store.inventory(sale.scheduleIds, sale.allSchedules, this.#clock.now());
  }

  revenue(sale: SaleRecord) {
    return this.#store.revenue(sale.scheduleIds, sale.allSchedules);
  }

  async create(input: NewSaleInput, actor: Actor): Promise<SaleRecord> {
    const scheduleIds = [...new Set(input.scheduleIds)].sort((a, b) => a - b);
    if (scheduleIds.length === 0)
      throw new DomainError('VALIDATION_FAILED', 'A sale covers at least one schedule');
    const settings: Partial<SaleSettings> = {
      ...(input.admitPerSecond === undefined ? {} : { admitPerSecond: input.admitPerSecond }),
      ...(input.maxActive === undefined ? {} : { maxActive: input.maxActive }),
      ...(input.overbook === undefined ? {} : { overbook: input.overbook }),
    };
    checkSettings({ ...this.#defaults, ...settings });
    const seed = newDrawSeed();
    const now = this.#clock.now();
    const id = await this.#store.transaction(async (tx) => {
      const found = await tx.existingSchedules(scheduleIds);
      const missing = scheduleIds.filter((s) => !found.includes(s));
      if (missing.length > 0)
        throw new DomainError('SCHEDULE_NOT_FOUND', `No schedule ${missing.join(', ')}`, { missing });
      // Ids are max + 1; a concurrent creation taking the same id makes the insert a no-op, and we try the next.
      for (let next = (await tx.maxSaleId()) + 1; ; next++) {
        const inserted = await tx.insertSale(next, {
          name: input.name,
          scheduleIds,
          opensAt: input.opensAt ?? null,
          drawSeed: seed,
          drawCommitment: drawCommitment(seed),
          settings,
          createdAt: now,
        });
        if (!inserted) continue;
        await tx.audit({
          at: now,
          actor,
          action: 'sale.create',
          entityType: 'sale',
          entityId: String(next),
          before: null,
          after: { name: input.name, scheduleIds, opensAt: input.opensAt ?? null, settings },
        });
        return next;
      }
    });
    return this.find(id);
  }

  /** pause / resume / settings: the stored settings change, audited with before and after. */
  async change(
    saleId: number,
    action: 'pause' | 'resume' | 'settings',
    change: SettingsChange & { paused?: boolean },
    actor: Actor,
  ): Promise<SaleRecord> {
    await this.#store.transaction(async (tx) => {
      const sale = await tx.lockSale(saleId);
      if (!sale) throw new DomainError('SALE_NOT_FOUND', `Sale ${saleId} does not exist`);
      if (sale.closedAt !== null) throw new DomainError('SALE_CLOSED', `Sale ${saleId} is closed`);
      const before = this.settingsOf(sale);
      const settings = { ...sale.settings, ...change };
      const after = { ...this.#defaults, ...settings };
      checkSettings(after);
      await tx.updateSale(saleId, { settings });
      await tx.audit({
        at: this.#clock.now(),
        actor,
        action: `sale.${action}`,
        entityType: 'sale',
        entityId: String(saleId),
        before,
        after,
      });
    });
    return this.find(saleId);
  }

  async close(saleId: number, actor: Actor): Promise<SaleRecord> {
    if (saleId === DEFAULT_SALE_ID)
      throw new DomainError(
        'VALIDATION_FAILED',
        'The default sale backs the seed routes and cannot be closed',
      );
    await this.#store.transaction(async (tx) => {
      const sale = await tx.lockSale(saleId);
      if (!sale) throw new DomainError('SALE_NOT_FOUND', `Sale ${saleId} does not exist`);
      if (sale.closedAt !== null) return;
      const now = this.#clock.now();
      await tx.updateSale(saleId, { closedAt: now });
      await tx.audit({
        at: now,
        actor,
        action: 'sale.close',
        entityType: 'sale',
        entityId: String(saleId),
        before: { closedAt: null },
        after: { closedAt: now },
      });
    });
    return this.find(saleId);
  }

  /**
   * Records the drawn order and reveals the seed, once: the first process wins, and every later caller gets the
   * order that was recorded.
   */
  async recordDraw(saleId: number, order: number[]): Promise<number[]> {
    const recorded = await this.#store.transaction((tx) => tx.recordDraw(saleId, order, this.#clock.now()));
    if (recorded) return order;
    return (await this.#store.drawOrder(saleId)) ?? order;
  }
}

function checkSettings(s: SaleSettings): void {
  const bad = (why: string) => new DomainError('VALIDATION_FAILED', why);
  if (!(s.admitPerSecond > 0)) throw bad('admitPerSecond must be positive');
  if (!(Number.isInteger(s.maxActive) && s.maxActive >= 1)) throw bad('maxActive must be an integer >= 1');
  if (!(s.minWindow >= 1 && s.minWindow <= s.maxWindow))
    throw bad('minWindow must be between 1 and maxWindow');
  if (!(s.overbook >= 1)) throw bad('overbook must be 1 or more');
}
