import { AccessKeys } from '../../src/domain/access-key.ts';
import type { QueueStoreSettings } from '../../src/domain/queue-store.ts';
import type { SaleSettings } from '../../src/domain/sales/model.ts';
import type { WaitingRoomSettings } from '../../src/domain/waiting-room.ts';

/** Settings of the sale rooms the sale contract tests build by hand (no server, no configuration). */
export const roomSettings: WaitingRoomSettings = {
  admitPerSecond: 1000,
  maxActive: 1000,
  activeTtlSeconds: 600,
  activeIdleSeconds: 60,
  tokenGraceSeconds: 30,
  idleTimeoutSeconds: 30,
};

export const storeSettings: QueueStoreSettings = {
  activeTtlMs: 600_000,
  tokenGraceMs: 30_000,
  activeIdleMs: 60_000,
};

export const saleDefaults: SaleSettings = {
  admitPerSecond: 1000,
  maxActive: 1000,
  minWindow: 1,
  maxWindow: 1000,
  overbook: 1.5,
  paused: false,
};

export const testActor = { id: null, name: 'test' };

/** One secret for every room the tests build by hand, as every process of a deployment shares one. */
export const accessKeys = new AccessKeys();
