import { randomBytes } from 'node:crypto';

/** The waiting-room port: every method is one atomic state change (or one consistent read). */
export interface QueueStore {
  /** Enters the line, or keeps the user's place and rotates the key (the previous key stays valid for the grace period). */
  issue(userId: number, accessKey: string, now: number, heartbeat: HeartbeatPolicy): Promise<QueueEntry>;
  /**
   * The state of the key's holder; for a waiter it also records the poll, pushing back the idle deadline.
   * With `userId` the key must belong to that user. Throws TOKEN_INVALID, TOKEN_NOT_YOURS or TOKEN_EXPIRED.
   */
  status(accessKey: string, now: number, heartbeat: HeartbeatPolicy, userId?: number): Promise<QueueEntry>;
  /** Expires lapsed actives, evicts idle waiters, then admits the front of the line within the rate budget and the active cap. */
  admit(now: number, limits: AdmitLimits): Promise<AdmitOutcome>;
  /** Frees an active user's slot at once (after a payment); false when the user was not active. */
  release(userId: number, now: number): Promise<boolean>;
  counts(): Promise<QueueCounts>;
  /** Resolves when the store answers; for /health/ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type QueueState = 'waiting' | 'active';

export interface QueueEntry {
  userId: number;
  state: QueueState;
  /** 1-based place in line while waiting; 0 when active. */
  position: number;
  /** When an active key lapses (ms since the epoch); 0 while waiting. */
  activeUntil: number;
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
  maxActive: number;
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
  activeTtlMs: number;
  tokenGraceMs: number;
}

/** How long a retired key is remembered, so its holder hears TOKEN_EXPIRED instead of TOKEN_INVALID. */
export const RETIRED_KEY_MEMORY_MS = 60 * 60 * 1000;

/** 128 random bits, URL-safe: 22 characters. */
export const newAccessKey = (): string => randomBytes(16).toString('base64url');

export const isWellFormedKey = (key: string): boolean => /^[A-Za-z0-9_-]{22}$/.test(key);

export function pollAfterFor(position: number, p: HeartbeatPolicy): number {
  return Math.min(p.maxPollMs, Math.max(p.minPollMs, Math.round(position * p.msPerPosition)));
}

/**
 * Idle deadlines are stored this much later than computed, and a poll rewrites one only when the computed
 * deadline passes the stored one: a steady poller writes once per slack, never earlier than its due.
 */
export const IDLE_SLACK_MS = 15_000;

export function idleDeadline(now: number, position: number, p: HeartbeatPolicy): number {
  return now + Math.max(p.idleFloorMs, p.idleFactor * pollAfterFor(position, p));
}
