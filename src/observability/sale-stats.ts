import type { Clock } from '../domain/clock.ts';
import type { SaleSample } from './sale-sample.ts';

export type { SaleSample };

export interface SaleStatsOptions {
  clock: Clock;
  read: () => Promise<Omit<SaleSample, 'at'>>;
  intervalMs?: number;
  /** How many samples are kept: intervalMs * keep is the charts' window. */
  keep?: number;
  /** Sampling stops when nobody asked for this long, so an unwatched server does no extra reads. */
  idleMs?: number;
}

/** A ring of recent samples, taken only while an operator watches. */
export class SaleStatsHistory {
  readonly intervalMs: number;
  readonly keep: number;
  readonly #clock: Clock;
  readonly #read: SaleStatsOptions['read'];
  readonly #idleMs: number;
  #samples: SaleSample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastAsked = 0;
  #sampling: Promise<void> | undefined;

  constructor(opts: SaleStatsOptions) {
    this.#clock = opts.clock;
    this.#read = opts.read;
    this.intervalMs = opts.intervalMs ?? 2000;
    this.keep = opts.keep ?? 300;
    this.#idleMs = opts.idleMs ?? 120_000;
  }

  /** Samples newer than `since`; starts sampling when it was idle, and waits for the first sample. */
  async since(since = 0): Promise<SaleSample[]> {
    this.#lastAsked = this.#clock.now();
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        if (this.#clock.now() - this.#lastAsked > this.#idleMs) this.stop();
        else void this.sample();
      }, this.intervalMs);
      this.#timer.unref();
      await this.sample();
    }
    return this.#samples.filter((s) => s.at > since);
  }

  async sample(): Promise<void> {
    // One read at a time: a slow database skips a beat instead of piling reads up.
    this.#sampling ??= this.#read()
      .then((values) => {
        this.#samples.push({ at: this.#clock.now(), ...values });
        if (this.#samples.length > this.keep) this.#samples.splice(0, this.#samples.length - this.keep);
      })
      .catch(() => {})
      .finally(() => {
        this.#sampling = undefined;
      });
    return this.#sampling;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
