import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdaptiveAdmission, type BookingHealth } from '../../src/domain/admission-controller.ts';
import { SaleRooms } from '../../src/domain/sales/sale-rooms.ts';
import { WaitingRoom } from '../../src/domain/waiting-room.ts';
import { MemoryQueueStore } from '../../src/queue/memory-store.ts';
import { createTestDatabase } from '../support/databases.ts';
import {
  accessKeys,
  testActor as actor,
  roomSettings,
  seededSales,
  storeSettings,
} from '../support/sale-fixtures.ts';

/** A sale's room governed by adaptive admission whose verdict the test sets: healthy, or a slow booking path. */
async function governedSale() {
  const testDb = await createTestDatabase('sqlite');
  const { clock, sales } = await seededSales(testDb.database, {
    users: 400,
    schedules: 4,
    seatsPerSchedule: 100,
  });
  let p95Ms = 20;
  const health = (): BookingHealth => ({
    samples: 100,
    p95Ms,
    errorRate: 0,
    poolWaits: 0,
    poolWaitP95Ms: undefined,
  });
  const governors: AdaptiveAdmission[] = [];
  const stopped: AdaptiveAdmission[] = [];
  const rooms = new SaleRooms({
    sales,
    clock,
    open: () => {
      const store = new MemoryQueueStore(storeSettings);
      return { store, room: new WaitingRoom({ store, clock, settings: roomSettings, accessKeys }) };
    },
    // As compose does it: the room follows the shared control the controller steps.
    govern: (_saleId, room, control) => {
      room.governBySharedControl();
      const governor = new AdaptiveAdmission({
        target: room,
        clock,
        health,
        settings: {
          adaptive: true,
          minPerSecond: 1,
          maxPerSecond: control.admitPerSecond,
          basePerSecond: control.admitPerSecond,
          maxWindow: control.maxActive,
          targetP95Ms: 250,
          targetPoolWaitMs: 25,
          maxErrorRate: 0.05,
        },
      });
      governors.push(governor);
      return {
        setWindowBounds: (min: number, max: number) => governor.setWindowBounds(min, max),
        setPace: (perSecond: number) => governor.setPace(perSecond),
        stop: () => {
          stopped.push(governor);
          governor.stop();
        },
      };
    },
  });
  const sale = await sales.create({ name: 'governed', scheduleIds: [1, 2, 3, 4], maxActive: 300 }, actor);
  return {
    testDb,
    clock,
    sales,
    rooms,
    sale,
    governors,
    stopped,
    slow: (ms: number) => {
      p95Ms = ms;
    },
  };
}

/** The test on a governed sale, then its rooms closed and its database dropped, whatever the test did. */
async function withGovernedSale(fn: (s: Awaited<ReturnType<typeof governedSale>>) => Promise<void>) {
  const s = await governedSale();
  try {
    await fn(s);
  } finally {
    await s.rooms.close();
    await s.testDb.drop();
  }
}

describe("adaptive admission of an operator's sale", () => {
  test('a slow booking path cuts the sale window; the sale admits no more than the cut allows', () =>
    withGovernedSale(async (s) => {
      for (let userId = 1; userId <= 400; userId++) await s.rooms.issue(s.sale.id, userId);
      assert.equal(s.governors.length, 1, 'the sale got its controller when its line was built');
      const [governor] = s.governors;
      await governor.step();
      // Admission fills the window (300 users, the sale's cap) at the sale's pace.
      for (let i = 0; i < 4; i++) {
        s.clock.advance(250);
        await s.rooms.tick();
      }
      const before = (await s.rooms.counters(s.sale.id)).active;
      assert.equal(before, 300);

      s.slow(900);
      s.clock.advance(2000);
      assert.deepEqual(await governor.step(), [], 'one slow interval is not yet a verdict');
      s.clock.advance(2000);
      const cut = await governor.step();
      const window = cut.find((ch) => ch.knob === 'window');
      assert.deepEqual([window?.from, window?.to, window?.signal], [300, 210, 'p95']);

      // Nobody more is admitted while 300 are active over a window of 210.
      for (let i = 0; i < 8; i++) {
        s.clock.advance(250);
        await s.rooms.tick();
      }
      assert.equal((await s.rooms.counters(s.sale.id)).active, 300);
    }));

  test("an operator's new admitPerSecond is the controller's ceiling from the next step", () =>
    withGovernedSale(async (s) => {
      await s.rooms.issue(s.sale.id, 1);
      const [governor] = s.governors;
      await governor.step();
      const changed = await s.sales.change(s.sale.id, 'settings', { admitPerSecond: 40 }, actor);
      await s.rooms.controlChanged(changed);
      s.clock.advance(2000);
      const changes = await governor.step();
      assert.deepEqual(
        changes.filter((ch) => ch.knob === 'rate').map((ch) => [ch.to, ch.signal]),
        [[40, 'clamp']],
      );
      await s.rooms.tick();
      assert.equal((await s.rooms.counters(s.sale.id)).admitPerSecond, 40, 'the room admits at the new pace');
    }));

  test('a closed sale stops its controller; a sale already closed when first read gets none', () =>
    withGovernedSale(async (s) => {
      await s.rooms.issue(s.sale.id, 1);
      assert.equal(s.governors.length, 1);
      await s.rooms.controlChanged(await s.sales.close(s.sale.id, actor));
      assert.deepEqual(s.stopped, s.governors, 'closing stopped it');
      const other = await s.sales.create({ name: 'over before use', scheduleIds: [2] }, actor);
      await s.sales.close(other.id, actor);
      assert.equal((await s.rooms.sale(other.id)).status, 'CLOSED');
      assert.equal(s.governors.length, 1, 'no controller for a closed sale');
    }));
});
