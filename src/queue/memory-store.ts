import {
  ACTIVE_REFRESH_MS,
  type AdmissionControl,
  type AdmitLimits,
  type AdmitOutcome,
  type ControlValues,
  type ControlWrite,
  type DrawClaim,
  type DrawProgress,
  type DrawSlice,
  type EntrantSlice,
  type HeartbeatPolicy,
  idleDeadline,
  type QueueCounts,
  type QueueEntry,
  type QueueState,
  type QueueStore,
  type QueueStoreSettings,
  RETIRED_KEY_MEMORY_MS,
  refreshedIdleDeadline,
  type SaleControl,
  storedIdleDeadline,
} from '../domain/queue-store.ts';
import { ArrivalLine } from './arrival-line.ts';
import { storeError } from './store-errors.ts';

interface Holder {
  key: string;
  previousKey?: string;
  previousUntil: number;
  state: 'waiting' | 'active';
  seq: number;
  /** Waiting: when the place is lost without a poll. Active: when the slot lapses without a request. */
  idleUntil: number;
  /** The admission's absolute end. */
  activeUntil: number;
}

const lapsed = (h: Holder, now: number): boolean =>
  h.state === 'active' && (h.activeUntil <= now || h.idleUntil <= now);

/** How often idle waiters are looked for; a sweep is a pass over the waiting users. */
const IDLE_SWEEP_EVERY_MS = 1000;

/** Entrants per drawEntrants slice, as the Redis store's SSCAN count. */
const MEMORY_DRAW_SCAN = 1000;

/** The embedded waiting room for one process. Every method runs to completion without awaiting. */
export class MemoryQueueStore implements QueueStore {
  readonly #settings: QueueStoreSettings;
  readonly #holders = new Map<number, Holder>();
  readonly #keyOwners = new Map<string, number>();
  /** Retired keys in retirement order, forgotten after RETIRED_KEY_MEMORY_MS. */
  #retired: Array<[forgetAt: number, key: string]> = [];
  #retiredHead = 0;
  #line = new ArrivalLine();
  /** The draw's entrants: users who joined before the opening. */
  readonly #pre = new Set<number>();
  #draw:
    | { state: 'open' }
    | { state: 'claimed'; holder: string; until: number; entrants: number[] | undefined }
    | { state: 'applied' } = { state: 'open' };
  /** The drawn order as its slices arrive, placed at once by the slice that completes it (as on Redis, where
   *  nobody is admitted before then either). */
  #drawn: number[] = [];
  #saleControl: SaleControl | undefined;
  /** Active users in admission order, which is also the order of their absolute ends (one TTL for all). */
  readonly #active = new Map<number, number>();
  /** Active users in order of their last idle-deadline write, which is also the order of those deadlines. */
  readonly #activeIdle = new Map<number, number>();
  #control: AdmissionControl | undefined;
  #lastAdmitAt: number | undefined;
  #credit = 0;
  #nextIdleSweepAt = 0;
  #admittedTotal = 0;
  #evictedTotal = 0;
  #expiredTotal = 0;

  constructor(settings: QueueStoreSettings) {
    this.#settings = settings;
  }

  async issue(
    userId: number,
    accessKey: string,
    now: number,
    heartbeat: HeartbeatPolicy,
    prequeue = false,
  ): Promise<QueueEntry> {
    let holder = this.#holders.get(userId);
    if (holder && lapsed(holder, now)) {
      this.#expireActive(userId, holder, now);
      this.#expiredTotal++;
      holder = undefined;
    }
    if (holder?.state === 'active') {
      // A fresh key must not inherit a lapse due within seconds: too little admission left means a new turn.
      if (holder.activeUntil - now < this.#settings.activeIdleMs) {
        this.#deactivate(userId);
        this.#expiredTotal++;
        holder.state = 'waiting';
        holder.seq = this.#line.push(userId);
        holder.idleUntil = 0;
        holder.activeUntil = 0;
      } else this.#touchActive(userId, holder, now, true);
    }
    if (!holder && this.#line.size >= (this.#settings.maxWaiting ?? Number.POSITIVE_INFINITY))
      throw storeError(-4);
    if (holder) {
      if (holder.previousKey !== undefined) this.#retireKey(holder.previousKey, now);
      holder.previousKey = holder.key;
      holder.previousUntil = now + this.#settings.tokenGraceMs;
      holder.key = accessKey;
    } else {
      holder = {
        key: accessKey,
        previousUntil: 0,
        state: 'waiting',
        seq: this.#line.push(userId),
        idleUntil: 0,
        activeUntil: 0,
      };
      this.#holders.set(userId, holder);
    }
    this.#keyOwners.set(accessKey, userId);
    if (prequeue && holder.state === 'waiting' && this.#draw.state === 'open') this.#pre.add(userId);
    return this.#entry(userId, holder, now, heartbeat);
  }

  async status(
    accessKey: string,
    now: number,
    heartbeat: HeartbeatPolicy,
    userId?: number,
  ): Promise<QueueEntry> {
    const owner = this.#keyOwners.get(accessKey);
    if (owner === undefined) throw storeError(-1);
    if (userId !== undefined && owner !== userId) throw storeError(-2);
    const holder = this.#holders.get(owner);
    if (!holder) throw storeError(-3);
    if (holder.key !== accessKey && !(holder.previousKey === accessKey && now < holder.previousUntil))
      throw storeError(-3);
    if (lapsed(holder, now)) throw storeError(-3);
    if (holder.state === 'active') this.#touchActive(owner, holder, now, false);
    return this.#entry(owner, holder, now, heartbeat);
  }

  async poll(
    userId: number,
    accessKey: string,
    now: number,
    heartbeat: HeartbeatPolicy,
  ): Promise<QueueEntry> {
    return this.status(accessKey, now, heartbeat, userId);
  }

  async leave(userId: number, accessKey: string, now: number): Promise<QueueState> {
    const owner = this.#keyOwners.get(accessKey);
    if (owner === undefined) throw storeError(-1);
    if (owner !== userId) throw storeError(-2);
    const holder = this.#holders.get(owner);
    if (!holder) throw storeError(-3);
    if (holder.key !== accessKey && !(holder.previousKey === accessKey && now < holder.previousUntil))
      throw storeError(-3);
    if (lapsed(holder, now)) throw storeError(-3);
    const was = holder.state;
    if (was === 'active') this.#deactivate(userId);
    else this.#line.remove(holder.seq);
    this.#forget(userId, holder, now);
    return was;
  }

  async readControl(): Promise<AdmissionControl | undefined> {
    return this.#control && { ...this.#control };
  }

  async writeControl(version: number, next: ControlValues, now: number): Promise<ControlWrite> {
    const current = this.#control?.version ?? 0;
    if (current !== version) return { applied: false, control: { ...this.#control! } };
    this.#control = {
      window: next.window,
      rate: next.rate,
      version: current + 1,
      changedAt: now,
      cutAt: next.cut ? now : (this.#control?.cutAt ?? 0),
    };
    return { applied: true, control: { ...this.#control } };
  }

  async admit(now: number, limits: AdmitLimits): Promise<AdmitOutcome> {
    this.#forgetRetiredKeys(now);
    let expired = 0;
    for (const [userId, activeUntil] of this.#active) {
      if (activeUntil > now) break;
      this.#expireActive(userId, this.#holders.get(userId)!, now);
      expired++;
    }
    for (const [userId, idleUntil] of this.#activeIdle) {
      if (idleUntil > now) break;
      this.#expireActive(userId, this.#holders.get(userId)!, now);
      expired++;
    }
    let evicted = 0;
    if (now >= this.#nextIdleSweepAt) {
      this.#nextIdleSweepAt = now + IDLE_SWEEP_EVERY_MS;
      for (const [userId, holder] of this.#holders) {
        if (holder.state === 'waiting' && holder.idleUntil <= now) {
          this.#line.remove(holder.seq);
          this.#forget(userId, holder, now);
          evicted++;
        }
      }
    }
    const elapsed =
      this.#lastAdmitAt === undefined ? 0 : Math.min(limits.maxBurstMs, Math.max(0, now - this.#lastAdmitAt));
    if (this.#lastAdmitAt === undefined || now > this.#lastAdmitAt) this.#lastAdmitAt = now;
    const shared = limits.governed ? this.#control : undefined;
    const rate = shared?.rate ?? limits.ratePerSecond;
    const window = Math.min(limits.maxActive, shared?.window ?? limits.maxActive);
    this.#credit += (rate * elapsed) / 1000;
    const budget = Math.floor(this.#credit);
    this.#credit -= budget;
    const room = Math.max(0, window - this.#active.size);
    const front = this.#line.front(Math.min(budget, room));
    for (const [seq, userId] of front) {
      const holder = this.#holders.get(userId)!;
      this.#line.remove(seq);
      holder.state = 'active';
      holder.activeUntil = now + this.#settings.activeTtlMs;
      this.#active.set(userId, holder.activeUntil);
      this.#touchActive(userId, holder, now, true);
    }
    this.#admittedTotal += front.length;
    this.#evictedTotal += evicted;
    this.#expiredTotal += expired;
    return {
      admitted: front.length,
      evicted,
      expired,
      waiting: this.#line.size,
      active: this.#active.size,
      admittedTotal: this.#admittedTotal,
      window,
      rate,
    };
  }

  async release(userId: number, now: number): Promise<boolean> {
    const holder = this.#holders.get(userId);
    if (holder?.state !== 'active') return false;
    this.#deactivate(userId);
    this.#forget(userId, holder, now);
    return true;
  }

  async counts(): Promise<QueueCounts> {
    return {
      waiting: this.#line.size,
      active: this.#active.size,
      admittedTotal: this.#admittedTotal,
      evictedTotal: this.#evictedTotal,
      expiredTotal: this.#expiredTotal,
    };
  }

  async readSaleControl(): Promise<SaleControl | undefined> {
    return this.#saleControl && { ...this.#saleControl };
  }

  async writeSaleControl(control: SaleControl): Promise<void> {
    this.#saleControl = { ...control };
  }

  async claimDraw(holder: string, now: number, leaseMs: number): Promise<DrawClaim> {
    const draw = this.#draw;
    if (draw.state === 'applied') return { outcome: 'applied' };
    if (draw.state === 'claimed' && draw.until > now && draw.holder !== holder)
      return { outcome: 'held-elsewhere' };
    const entrants = draw.state === 'claimed' && draw.holder === holder ? draw.entrants : undefined;
    this.#draw = { state: 'claimed', holder, until: now + leaseMs, entrants };
    return { outcome: 'claimed', placed: this.#drawn.length };
  }

  async drawEntrants(
    holder: string,
    cursor: string,
    now: number,
    leaseMs: number,
  ): Promise<EntrantSlice | undefined> {
    const draw = this.#held(holder, now, leaseMs);
    if (!draw) return undefined;
    // The pre set no longer grows once claimed: its members, listed once, are read in slices like SSCAN's.
    draw.entrants ??= [...this.#pre];
    const from = Number(cursor);
    const to = Math.min(from + MEMORY_DRAW_SCAN, draw.entrants.length);
    const entrants = draw.entrants.slice(from, to).filter((u) => this.#holders.get(u)?.state === 'waiting');
    return { cursor: to === draw.entrants.length ? '0' : String(to), entrants };
  }

  async applyDrawSlice(
    holder: string,
    slice: DrawSlice,
    now: number,
    leaseMs: number,
  ): Promise<DrawProgress> {
    if (this.#draw.state === 'applied') return { outcome: 'applied' };
    if (!this.#held(holder, now, leaseMs)) return { outcome: 'lost' };
    // A slice applied again (by the holder after one that died) writes the same places.
    for (const [i, userId] of slice.users.entries()) this.#drawn[slice.from + i] = userId;
    if (this.#drawn.length < slice.total) return { outcome: 'placed', placed: this.#drawn.length };
    this.#draw = { state: 'applied' };
    // The drawn go first in the drawn order, then everyone else in arrival order.
    const rest = this.#line.front(this.#line.size).map(([, userId]) => userId);
    const line = new ArrivalLine();
    const placed = new Set<number>();
    for (const userId of [...this.#drawn, ...rest]) {
      const holderOf = this.#holders.get(userId);
      if (holderOf?.state !== 'waiting' || placed.has(userId)) continue;
      placed.add(userId);
      holderOf.seq = line.push(userId);
    }
    this.#line = line;
    this.#drawn = [];
    return { outcome: 'applied' };
  }

  /** The claim when `holder` holds it, its lease renewed. */
  #held(holder: string, now: number, leaseMs: number) {
    const draw = this.#draw;
    if (draw.state !== 'claimed' || draw.holder !== holder) return undefined;
    draw.until = now + leaseMs;
    return draw;
  }

  async drawApplied(): Promise<boolean> {
    return this.#draw.state === 'applied';
  }

  async prequeued(): Promise<number> {
    return this.#pre.size;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  #entry(userId: number, holder: Holder, now: number, heartbeat: HeartbeatPolicy): QueueEntry {
    if (holder.state === 'active')
      return { userId, state: 'active', position: 0, activeUntil: holder.activeUntil };
    const position = this.#line.rank(holder.seq);
    if (holder.idleUntil < idleDeadline(now, position, heartbeat))
      holder.idleUntil = storedIdleDeadline(now, position, heartbeat);
    return { userId, state: 'waiting', position, activeUntil: 0 };
  }

  /** Pushes back an active user's idle deadline when due (or always, with `force`). */
  #touchActive(userId: number, holder: Holder, now: number, force: boolean): void {
    const next = force
      ? now + this.#settings.activeIdleMs + ACTIVE_REFRESH_MS
      : refreshedIdleDeadline(holder.idleUntil, now, this.#settings.activeIdleMs);
    if (next === undefined) return;
    holder.idleUntil = next;
    // Re-inserted at the end, so the map stays in deadline order.
    this.#activeIdle.delete(userId);
    this.#activeIdle.set(userId, next);
  }

  #deactivate(userId: number): void {
    this.#active.delete(userId);
    this.#activeIdle.delete(userId);
  }

  #expireActive(userId: number, holder: Holder, now: number): void {
    this.#deactivate(userId);
    this.#forget(userId, holder, now);
  }

  #forget(userId: number, holder: Holder, now: number): void {
    this.#holders.delete(userId);
    this.#retireKey(holder.key, now);
    if (holder.previousKey !== undefined) this.#retireKey(holder.previousKey, now);
  }

  #retireKey(key: string, now: number): void {
    this.#retired.push([now + this.#settings.tokenGraceMs + RETIRED_KEY_MEMORY_MS, key]);
  }

  #forgetRetiredKeys(now: number): void {
    const retired = this.#retired;
    while (this.#retiredHead < retired.length && retired[this.#retiredHead][0] <= now) {
      const key = retired[this.#retiredHead][1];
      const owner = this.#keyOwners.get(key);
      const holder = owner === undefined ? undefined : this.#holders.get(owner);
      if (holder?.key !== key && holder?.previousKey !== key) this.#keyOwners.delete(key);
      this.#retiredHead++;
    }
    if (this.#retiredHead > 1024 && this.#retiredHead * 2 > retired.length) {
      this.#retired = retired.slice(this.#retiredHead);
      this.#retiredHead = 0;
    }
  }
}
