import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AdaptiveAdmission,
  type AdmissionSettings,
  type RateChange,
  ResponseWindow,
} from '../../src/domain/admission-controller.ts';
import { ManualClock } from '../../src/domain/clock.ts';

const settings: AdmissionSettings = {
  adaptive: true,
  minPerSecond: 10,
  maxPerSecond: 400,
  targetP95Ms: 500,
  maxErrorRate: 0.05,
  maxPoolWaiting: 10,
  increasePerStep: 20,
  decreaseFactor: 0.5,
  minSamples: 20,
  intervalMs: 2000,
};

/** A booking backend whose latency and failures follow a script; admitted users call it at the admit rate. */
function fakeBackend(initialRate: number, overrides: Partial<AdmissionSettings> = {}) {
  const clock = new ManualClock();
  const window = new ResponseWindow({ clock, windowSeconds: 10 });
  let rate = initialRate;
  const target = { getAdmitRate: () => rate, setAdmitRate: (n: number) => (rate = n) };
  const backend = { latencyMs: 50, failShare: 0, poolWaiting: 0, capacity: Number.POSITIVE_INFINITY };
  // Beyond its capacity the backend queues: every admitted user per second over it adds 10 ms.
  const latency = () => backend.latencyMs + Math.max(0, rate - backend.capacity) * 10;
  const changes: RateChange[] = [];
  const controller = new AdaptiveAdmission({
    target,
    clock,
    settings: { ...settings, ...overrides },
    health: (since) => ({ ...window.signals(since), poolWaiting: backend.poolWaiting }),
    onChange: (c) => changes.push(c),
  });
  /** Ten responses per 100 ms for one control interval, then one control step. */
  const interval = () => {
    for (let t = 0; t < 20; t++) {
      clock.advance(100);
      for (let i = 0; i < 10; i++) {
        const fails = i < backend.failShare * 10;
        window.record(fails ? 503 : 201, latency());
      }
    }
    controller.step();
    return rate;
  };
  return { clock, window, controller, backend, changes, interval, rate: () => rate };
}

describe('AdaptiveAdmission', () => {
  test('a slow backend drives the rate down, a recovered one brings it back up', () => {
    const b = fakeBackend(200);
    assert.equal(b.interval(), 220, 'healthy: additive increase');
    b.backend.latencyMs = 900;
    const falling = [b.interval(), b.interval(), b.interval()];
    assert.deepEqual(falling, [110, 55, 27.5]);
    assert.equal(b.changes.at(-1)?.signal, 'p95');
    assert.match(b.changes[1].reason, /^p95 \d+ms > target 500ms: 220 -> 110\/s$/);

    b.backend.latencyMs = 40;
    const rising = [b.interval(), b.interval(), b.interval()];
    assert.deepEqual(rising, [47.5, 67.5, 87.5]);
    assert.equal(b.changes.at(-1)?.signal, 'healthy');
  });

  test('the rate settles around what the backend can take, and follows it when capacity changes', () => {
    const b = fakeBackend(50);
    b.backend.capacity = 200;
    for (let i = 0; i < 30; i++) b.interval();
    const settled = Array.from({ length: 20 }, () => b.interval());
    assert.ok(
      Math.max(...settled) <= 270,
      `never more than a step past where p95 crosses 500 ms (245/s): ${settled}`,
    );
    assert.ok(Math.min(...settled) >= 100, `never below half of it: ${settled}`);

    b.backend.capacity = 60;
    for (let i = 0; i < 10; i++) b.interval();
    assert.ok(b.rate() <= 120, `fell with the capacity: ${b.rate()}`);
    b.backend.capacity = 300;
    for (let i = 0; i < 20; i++) b.interval();
    assert.ok(b.rate() >= 250, `rose again: ${b.rate()}`);
  });

  test('5xx and 503 answers count as unhealthy even when fast', () => {
    const b = fakeBackend(200);
    b.backend.failShare = 0.2;
    assert.equal(b.interval(), 100);
    assert.equal(b.changes[0].signal, 'errors');
    assert.match(b.changes[0].reason, /5xx 20\.0% > 5\.0%: 200 -> 100\/s/);
  });

  test('a pool queue beyond the bound cuts the rate without waiting for samples', () => {
    const b = fakeBackend(200);
    b.backend.poolWaiting = 50;
    b.controller.step();
    assert.equal(b.rate(), 100);
    assert.equal(b.changes[0].signal, 'pool');
  });

  test('the rate stays within min and max', () => {
    const low = fakeBackend(12);
    low.backend.latencyMs = 2000;
    for (let i = 0; i < 5; i++) low.interval();
    assert.equal(low.rate(), 10);

    const high = fakeBackend(390);
    for (let i = 0; i < 5; i++) high.interval();
    assert.equal(high.rate(), 400);

    const outside = fakeBackend(5000);
    outside.controller.step();
    assert.equal(outside.rate(), 400);
    assert.equal(outside.changes[0].signal, 'clamp');
  });

  test('too few responses since the last change: the rate holds', () => {
    const b = fakeBackend(200);
    b.clock.advance(2000);
    b.window.record(201, 3000);
    assert.equal(b.controller.step(), undefined);
    assert.equal(b.rate(), 200);
  });

  test('fixed mode never changes the rate, whatever the backend does', () => {
    const b = fakeBackend(200, { adaptive: false });
    b.backend.latencyMs = 5000;
    b.backend.failShare = 1;
    b.backend.poolWaiting = 1000;
    for (let i = 0; i < 5; i++) b.interval();
    b.backend.latencyMs = 1;
    b.backend.failShare = 0;
    b.backend.poolWaiting = 0;
    for (let i = 0; i < 5; i++) b.interval();
    assert.equal(b.rate(), 200);
    assert.equal(b.changes.length, 0);
  });

  test('bounds must make sense', () => {
    assert.throws(
      () =>
        new AdaptiveAdmission({
          target: { getAdmitRate: () => 1, setAdmitRate: () => {} },
          clock: new ManualClock(),
          settings: { ...settings, minPerSecond: 50, maxPerSecond: 10 },
          health: () => ({ samples: 0, p95Ms: undefined, errorRate: 0, poolWaiting: 0 }),
        }),
      RangeError,
    );
  });
});

describe('ResponseWindow', () => {
  test('p95 and error share over the recorded responses, forgetting old seconds', () => {
    const clock = new ManualClock();
    const window = new ResponseWindow({ clock, windowSeconds: 5 });
    for (let i = 0; i < 95; i++) window.record(200, 20);
    for (let i = 0; i < 5; i++) window.record(500, 1000);
    const s = window.signals();
    assert.equal(s.samples, 100);
    assert.equal(s.errorRate, 0.05);
    assert.ok(s.p95Ms !== undefined && s.p95Ms >= 20 && s.p95Ms < 22.1, `p95 ${s.p95Ms}`);

    clock.advance(6000);
    assert.deepEqual(window.signals(), { samples: 0, p95Ms: undefined, errorRate: 0 });
  });
});
