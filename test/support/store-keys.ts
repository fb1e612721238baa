import { randomBytes } from 'node:crypto';
import type { HeartbeatPolicy } from '../../src/domain/queue-store.ts';

/**
 * 128 random bits, URL-safe: 22 characters. Stores treat keys as opaque strings (the waiting room hands them
 * signed keys, see src/domain/access-key.ts), so store tests give them any unique key.
 */
export const newAccessKey = (): string => randomBytes(16).toString('base64url');

/** The heartbeat the store tests poll with: 10 ms a place, 1-20 s advice, 30 s idle floor, 3 polls of idle. */
export const heartbeat: HeartbeatPolicy = {
  msPerPosition: 10,
  minPollMs: 1000,
  maxPollMs: 20_000,
  idleFloorMs: 30_000,
  idleFactor: 3,
};
/** The store tests' epoch: 2026-01-01. */
export const T0 = Date.UTC(2026, 0, 1);
