/** The waiting-room port: every method is one atomic state change (or one consistent read). */
export interface QueueStore {
  /**
   * Enters the line, or keeps the user's place and rotates the key (the previous key stays valid for the grace
   * period). With `prequeue`, a waiter is also an entrant of the draw, unless the draw was already claimed.
   */
  issue(
    userId: number,
    accessKey: string,
    now: number,
    heartbeat: HeartbeatPolicy,
    prequeue?: boolean,
  ): Promise<QueueEntry>;
  /**
   * The state of the key's holder; for a waiter it also records the poll, pushing back the idle deadline.
   * With `userId` the key must belong to that user. Throws TOKEN_INVALID, TOKEN_NOT_YOURS or TOKEN_EXPIRED.
   */
  status(accessKey: string, now: number, heartbeat: HeartbeatPolicy, userId?: number): Promise<QueueEntry>;
  /**
   * `status` of the user's own key, for the waiting page's poll: the store may answer a waiter on a cheaper path
   * (on Redis one small script), with the same outcomes.
   */
  poll(userId: number, accessKey: string, now: number, heartbeat: HeartbeatPolicy): Promise<QueueEntry>;
  /**
   * Expires lapsed and idle actives, evicts idle waiters, then admits the front of the line within the rate
   * budget and the active-user window (the shared control's, when `governed` and one was written).
   */
  admit(now: number, limits: AdmitLimits): Promise<AdmitOutcome>;
  /** Frees an active user's slot at once (after a payment); false when the user was not active. */
  release(userId: number, now: number): Promise<boolean>;
  /**
   * The holder of `accessKey` (the user's current or grace-period key) leaves the line or the active set at
   * once; returns where the user was. Throws TOKEN_INVALID, TOKEN_NOT_YOURS or TOKEN_EXPIRED like status.
   */
  leave(userId: number, accessKey: string, now: number): Promise<QueueState>;
  /** The active-user window and admission rate every process shares; undefined until first written. */
  readControl(): Promise<AdmissionControl | undefined>;
  /**
   * Compare-and-set of the shared control: written only if the stored version is still `version` (0: none
   * stored yet), so two processes deciding at once cannot both apply a step. Returns the control after.
   */
  writeControl(version: number, next: ControlValues, now: number): Promise<ControlWrite>;
  counts(): Promise<QueueCounts>;
  /** The sale's live controls every process follows; undefined until first written. */
  readSaleControl(): Promise<SaleControl | undefined>;
  writeSaleControl(control: SaleControl): Promise<void>;
  /**
   * Claims the draw for `holder` (a process's claim id) for `leaseMs`: from then on nobody new becomes an entrant.
   * A claim whose lease ran out is taken over, with the places the earlier holder applied; the holder claiming
   * again renews its lease. Or why not claimed: another process holds the claim, or the draw was applied.
   */
  claimDraw(holder: string, now: number, leaseMs: number): Promise<DrawClaim>;
  /**
   * One slice of the entrants still waiting, from `cursor` ('0' first; next cursor '0' when done; an entrant may
   * come twice), renewing the holder's lease; undefined when `holder` lost the claim.
   */
  drawEntrants(
    holder: string,
    cursor: string,
    now: number,
    leaseMs: number,
  ): Promise<EntrantSlice | undefined>;
  /**
   * Puts `slice`, places `from` .. of the `total` drawn, ahead of everyone else waiting, renewing the holder's
   * lease; the slice that completes the order applies the draw (admission may start then, not before).
   */
  applyDrawSlice(holder: string, slice: DrawSlice, now: number, leaseMs: number): Promise<DrawProgress>;
  drawApplied(): Promise<boolean>;
  /** Users who joined the pre-queue (entrants of the draw to come). */
  prequeued(): Promise<number>;
  /** Resolves when the store answers; for /health/ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type QueueState = 'waiting' | 'active';

/** A sale's settings and whether it is closed, as every process reads them from the store. */
export interface SaleControl {
  admitPerSecond: number;
  maxActive: number;
  minWindow: number;
  maxWindow: number;
  overbook: number;
  paused: boolean;
  closed: boolean;
}

export type DrawClaim =
  | { outcome: 'claimed'; placed: number }
  | { outcome: 'held-elsewhere' }
  | { outcome: 'applied' };

export interface EntrantSlice {
  cursor: string;
  entrants: number[];
}

/** Users `from` .. `from + users.length - 1` (0-based places) of a drawn order of `total`. */
export interface DrawSlice {
  from: number;
  total: number;
  users: number[];
}

/** After a slice: places applied so far, the draw applied, or the claim lost to another process. */
export type DrawProgress =
  | { outcome: 'placed'; placed: number }
  | { outcome: 'applied' }
  | { outcome: 'lost' };

export interface QueueEntry {
  userId: number;
  state: QueueState;
  /** 1-based place in line while waiting; 0 when active. */
  position: number;
  /** The admission's absolute end (ms since the epoch), whatever the activity; 0 while waiting. */
  activeUntil: number;
}

export interface ControlValues {
  /** Most users active at once. */
  window: number;
  /** Admissions per second while the window has room. */
  rate: number;
  /** A cut (not an increase): stamps cutAt, so processes make at most one cut per control interval. */
  cut: boolean;
}

export interface AdmissionControl {
  window: number;
  rate: number;
  /** Grows by one per write; 0 means never written. */
  version: number;
  changedAt: number;
  cutAt: number;
}

export interface ControlWrite {
  applied: boolean;
  control: AdmissionControl;
}

/**
 * How long a waiter may go without polling: max(idleFloorMs, idleFactor x the poll advice at its position).
 * Both stores compute the deadline from the position found in the same atomic step.
 */
export interface HeartbeatPolicy {
  msPerPosition: number;
  minPollMs: number;
  maxPollMs: number;
  idleFloorMs: number;
  idleFactor: number;
}

export interface AdmitLimits {
  /** Admissions per second, shared by every process using the store (the budget lives in the store). */
  ratePerSecond: number;
  /** The cap: the shared window never admits beyond it. */
  maxActive: number;
  /** Use the shared control's window and rate when one is stored (adaptive admission); else the two above. */
  governed: boolean;
  /** The longest gap between two admissions counted toward the budget, so a stalled ticker cannot burst. */
  maxBurstMs: number;
}

export interface AdmitOutcome {
  admitted: number;
  evicted: number;
  expired: number;
  waiting: number;
  active: number;
  /** Admissions ever made by any process; processes measure the admission rate from its growth. */
  admittedTotal: number;
  /** The window and rate this step admitted within. */
  window: number;
  rate: number;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  admittedTotal: number;
  evictedTotal: number;
  expiredTotal: number;
}

/** What a store needs of the waiting room's settings, in milliseconds. */
export interface QueueStoreSettings {
  /** The absolute bound on one admission, however active its user. */
  activeTtlMs: number;
  tokenGraceMs: number;
  /** An admitted user with no authorised request for this long lapses. */
  activeIdleMs: number;
  /** Most users waiting in line: a newcomer beyond it is QUEUE_FULL (those already in line keep their place). */
  maxWaiting?: number;
}

/**
 * An active user's idle deadline is stored this much later than `now + activeIdleMs` and rewritten only once
 * that has passed it, so a busy key writes at most once per this interval and lapses between activeIdleMs and
 * activeIdleMs + this after its last request.
 */
export const ACTIVE_REFRESH_MS = 3000;

/** The idle deadline to store for an active user seen at `now`, or undefined when the stored one still holds. */
export function refreshedIdleDeadline(stored: number, now: number, activeIdleMs: number): number | undefined {
  return stored < now + activeIdleMs ? now + activeIdleMs + ACTIVE_REFRESH_MS : undefined;
}

/** How long a retired key is remembered, so its holder hears TOKEN_EXPIRED instead of TOKEN_INVALID. */
export const RETIRED_KEY_MEMORY_MS = 60 * 60 * 1000;

export function pollAfterFor(position: number, p: HeartbeatPolicy): number {
  return Math.min(p.maxPollMs, Math.max(p.minPollMs, Math.round(position * p.msPerPosition)));
}

/**
 * A waiter's idle deadline is stored this many poll advices later than due, and a poll rewrites it only once the
 * due deadline passes the stored one: a waiter who follows the advice rewrites it about once in this many polls
 * plus one, at any place in line (a fixed slack shorter than the advice meant a write per far-back poll). The
 * price is a later eviction: a waiter who stops polling loses the place between max(idleFloorMs, idleFactor x p)
 * and that + IDLE_SLACK_POLLS x p after the last poll (p: the advice then, at most maxPollMs, so at most three
 * minutes more with the 60 s cap), and the admission step that evicts runs every second. Since the advice is a fifth
 * of the ETA, the slack (3/5 of the ETA) ends before a waiter who left would have reached the front.
 */
export const IDLE_SLACK_POLLS = 3;

/** The idle deadline due for a poll at `position`: an eviction at it is earned, not early. */
export function idleDeadline(now: number, position: number, p: HeartbeatPolicy): number {
  return now + Math.max(p.idleFloorMs, p.idleFactor * pollAfterFor(position, p));
}

/** The idle deadline to store for a poll at `position`: the due one plus the slack. */
export function storedIdleDeadline(now: number, position: number, p: HeartbeatPolicy): number {
  return idleDeadline(now, position, p) + IDLE_SLACK_POLLS * pollAfterFor(position, p);
}
