import type { QueueStore } from '../queue-store.ts';
import { drawOrderInSteps } from './draw.ts';

/** Drawn users one store call places: a few milliseconds of Redis, whatever the number of entrants. */
export const DRAW_SLICE = 1000;

export interface DrawRun {
  store: QueueStore;
  seed: string;
  /** This process's claim id. */
  holder: string;
  leaseMs: number;
  now: () => number;
  /** The order recorded for the sale; undefined before the draw. */
  recorded: () => Promise<number[] | undefined>;
  /** Records an order (and reveals the seed); resolves to the recorded one, whichever process recorded first. */
  record: (order: number[]) => Promise<number[]>;
  slice?: number;
  /** Tests stop a run after this many slices: the process died there. */
  stopAfterSlices?: number;
}

export type DrawRunOutcome = 'applied' | 'held-elsewhere' | 'lost' | 'stopped';

/**
 * Applies a sale's draw in bounded steps: claims it, reads the entrants a slice at a time, computes and records the
 * order (or takes the order already recorded), then places it a slice at a time, each call renewing the lease. A
 * process that dies midway leaves its claim to lapse; the next one resumes from the places applied, with the
 * recorded order, so nobody is lost or placed twice. Admission waits for the last slice.
 */
export async function runDraw(run: DrawRun): Promise<DrawRunOutcome> {
  const claim = await run.store.claimDraw(run.holder, run.now(), run.leaseMs);
  return claim.outcome === 'claimed' ? continueDraw(run, claim.placed) : claim.outcome;
}

/** The rest of a run once claimed, `placed` places applied already. */
export async function continueDraw(run: DrawRun, placed: number): Promise<DrawRunOutcome> {
  const { store, holder, leaseMs, now } = run;
  // Computing and recording a million takes seconds with no store call: the claim is renewed meanwhile.
  let lost = false;
  const renew = setInterval(() => {
    store
      .claimDraw(holder, now(), leaseMs)
      .then((claim) => {
        lost ||= claim.outcome !== 'claimed';
      })
      .catch(() => {});
  }, leaseMs / 3);
  renew.unref();
  let order: number[] | undefined;
  try {
    order = await run.recorded();
    if (!order) {
      const entrants: number[] = [];
      let cursor = '0';
      do {
        const slice = await store.drawEntrants(holder, cursor, now(), leaseMs);
        if (!slice) return 'lost';
        for (const userId of slice.entrants) entrants.push(userId);
        cursor = slice.cursor;
      } while (cursor !== '0');
      order = await run.record(await drawOrderInSteps(run.seed, entrants));
    }
  } finally {
    clearInterval(renew);
  }
  if (lost) return 'lost';
  const size = run.slice ?? DRAW_SLICE;
  for (let from = placed, slices = 0; ; slices++) {
    if (run.stopAfterSlices !== undefined && slices >= run.stopAfterSlices) return 'stopped';
    const users = order.slice(from, from + size);
    const progress = await store.applyDrawSlice(holder, { from, total: order.length, users }, now(), leaseMs);
    if (progress.outcome !== 'placed') return progress.outcome;
    from = progress.placed;
  }
}
