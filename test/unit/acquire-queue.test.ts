import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AcquireClass, AcquireQueue, type AcquireQueueOptions } from '../../src/db/acquire-queue.ts';
import { isPoolTimeout } from '../../src/db/errors.ts';

function queueOf(opts: Partial<AcquireQueueOptions> = {}) {
  let now = 1000;
  const waits: Array<[AcquireClass, number]> = [];
  const queue = new AcquireQueue({
    permits: 1,
    acquireTimeoutMs: 60_000,
    targetMs: 50,
    intervalMs: 500,
    onWait: (seconds, cls) => waits.push([cls, Math.round(seconds * 1000)]),
    now: () => now,
    ...opts,
  });
  const order: string[] = [];
  /** Queues a checkout of `cls` that notes its name when granted and hands back its release. */
  const checkout = (cls: AcquireClass, name: string) =>
    queue
      .runAs(cls, () => queue.acquire())
      .then((release) => {
        order.push(name);
        return release;
      });
  return {
    queue,
    waits,
    order,
    checkout,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('AcquireQueue', () => {
  test('serves payments, then holds, then top-ups, then catalog reads, each class in arrival order', async () => {
    const q = queueOf();
    const first = await q.checkout('catalog', 'first');
    const pending = [
      q.checkout('catalog', 'catalog 1'),
      q.checkout('top-up', 'top-up'),
      q.checkout('catalog', 'catalog 2'),
      q.checkout('hold', 'hold'),
      q.checkout('payment', 'payment 1'),
      q.checkout('payment', 'payment 2'),
    ];
    assert.equal(q.queue.waiting, 6);
    first();
    // Each gives its connection back as soon as it has it, so the next in line is served.
    await Promise.all(pending.map((p) => p.then((release) => release())));
    assert.deepEqual(q.order, [
      'first',
      'payment 1',
      'payment 2',
      'hold',
      'top-up',
      'catalog 1',
      'catalog 2',
    ]);
    assert.equal(q.queue.inUse, 0);
    assert.equal(q.queue.waiting, 0);
  });

  test('work outside any request queues as catalog', async () => {
    const q = queueOf();
    const held = await q.queue.acquire();
    const background = q.queue.acquire();
    const hold = q.checkout('hold', 'hold');
    held();
    (await hold)();
    (await background)();
    assert.deepEqual(
      q.waits.map(([cls]) => cls),
      ['catalog', 'hold', 'catalog'],
    );
  });

  test('times every wait, and a checkout still queued after the acquire timeout fails as a pool timeout', async () => {
    const q = queueOf({ acquireTimeoutMs: 20 });
    const held = await q.checkout('payment', 'held');
    q.advance(30);
    const err = await q.checkout('catalog', 'late').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isPoolTimeout(err), `got ${err}`);
    assert.equal(q.queue.waiting, 0, 'the timed-out checkout left the queue');
    held();
    assert.equal(q.queue.inUse, 0);
    assert.deepEqual(q.waits, [
      ['payment', 0],
      ['catalog', 0],
    ]);
  });

  test('expects a wait of the checkouts ahead (own class and more urgent) at the mean hold time', async () => {
    const q = queueOf({ permits: 2 });
    assert.equal(q.queue.expectedWaitMs('catalog'), 0, 'a free permit: no wait');
    const a = await q.checkout('hold', 'a');
    q.advance(100);
    a();
    assert.equal(q.queue.stats().holdMs, 100);
    const held = [await q.checkout('hold', 'b'), await q.checkout('hold', 'c')];
    const queued = [q.checkout('catalog', 'd'), q.checkout('catalog', 'e'), q.checkout('payment', 'f')];
    assert.equal(q.queue.expectedWaitMs('payment'), 100, 'behind one payment, two permits at 100 ms');
    assert.equal(q.queue.expectedWaitMs('hold'), 100, 'queued catalog reads are not ahead of a hold');
    assert.equal(q.queue.expectedWaitMs('catalog'), 200);
    for (const release of held) release();
    for (const p of queued) (await p)();
  });

  test('CoDel: a burst that drains within the interval never stands; waits above the target for a whole interval do', async () => {
    const q = queueOf();
    let held = await q.checkout('catalog', 'first');
    const burst = Array.from({ length: 5 }, (_, i) => q.checkout('catalog', `burst ${i}`));
    for (const p of burst) {
      q.advance(80);
      held();
      held = await p;
      assert.equal(q.queue.standing('catalog'), false, 'above the target, but not yet for an interval');
    }
    held();
    assert.equal(q.queue.stats().classes.catalog.waiting, 0);

    held = await q.checkout('catalog', 'again');
    const stuck = q.checkout('catalog', 'stuck');
    q.advance(60);
    assert.equal(q.queue.standing('catalog'), false, 'the oldest wait passed the target: the interval runs');
    q.advance(489);
    assert.equal(q.queue.standing('catalog'), false);
    q.advance(1);
    assert.equal(q.queue.standing('catalog'), true, 'above the target for a whole interval');
    assert.equal(q.queue.stats().classes.catalog.sojournMs, 550);
    assert.equal(q.queue.standing('payment'), false, 'each class has its own queue');
    held();
    (await stuck)();
    assert.equal(q.queue.standing('catalog'), false, 'a drained queue stands no more');
  });

  test('a class starved by more urgent ones stands although none of its checkouts is served', async () => {
    const q = queueOf();
    let held = await q.checkout('payment', 'p0');
    const catalog = q.checkout('catalog', 'catalog');
    for (let i = 1; i <= 8; i++) {
      const next = q.checkout('payment', `p${i}`);
      q.advance(100);
      held();
      held = await next;
    }
    assert.equal(q.queue.standing('catalog'), true);
    assert.equal(q.queue.standing('payment'), false, 'no payment is left waiting');
    held();
    (await catalog)();
  });

  test('the standing state ends with the first wait below the target', async () => {
    const q = queueOf();
    const held = await q.checkout('hold', 'first');
    const slow = q.checkout('hold', 'slow');
    q.advance(600);
    const quick = q.checkout('hold', 'quick');
    assert.equal(q.queue.standing('hold'), true);
    held();
    const slowRelease = await slow;
    q.advance(10);
    slowRelease();
    const quickRelease = await quick;
    assert.deepEqual(q.waits.slice(-2), [
      ['hold', 600],
      ['hold', 10],
    ]);
    const next = q.checkout('hold', 'next');
    assert.equal(q.queue.standing('hold'), false, 'the last wait was 10 ms: below the target');
    quickRelease();
    (await next)();
  });
});
