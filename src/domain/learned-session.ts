/** Where the session length one sale measured is kept for the next, across processes and restarts. */
export interface SessionLengthStore {
  read(): Promise<number | undefined>;
  write(ms: number): Promise<void>;
}

/** A measured session outside these bounds is not one to forecast the next sale with. */
export const MIN_LEARNED_SESSION_MS = 500;
export const MAX_LEARNED_SESSION_MS = 60 * 60_000;
/** A process writes what it learned at most this often (every process measures the same shared line). */
const WRITE_EVERY_MS = 10_000;

const usable = (ms: number | undefined): ms is number =>
  ms !== undefined && Number.isFinite(ms) && ms >= MIN_LEARNED_SESSION_MS && ms <= MAX_LEARNED_SESSION_MS;

/**
 * The ETA's assumption of how long an admitted user holds a slot, before a sale has measured its own: the session
 * the last sale measured (the same checkout, the same crowd's pace), else the configured one, else none (the
 * forecast then tells no ETA that waits on departures until the sale has measured some). A sale's opening is
 * forecast before anyone admitted has left, so without this every sale's first ETAs rest on a guess.
 */
export class LearnedSession {
  readonly #fallbackMs: number | undefined;
  readonly #store: SessionLengthStore | undefined;
  readonly #onError: (err: unknown) => void;
  #learnedMs: number | undefined;
  #writtenAt = Number.NEGATIVE_INFINITY;

  constructor(opts: { fallbackMs?: number; store?: SessionLengthStore; onError?: (err: unknown) => void }) {
    this.#fallbackMs = opts.fallbackMs;
    this.#store = opts.store;
    this.#onError = opts.onError ?? (() => {});
  }

  /** The prior for a forecast that has measured nothing yet; undefined: none learned, none configured. */
  priorMs(): number | undefined {
    return this.#learnedMs ?? this.#fallbackMs;
  }

  /** What a sale measured before this process started; a store that cannot answer leaves the configured prior. */
  async load(): Promise<void> {
    if (!this.#store) return;
    try {
      const ms = await this.#store.read();
      if (usable(ms) && this.#learnedMs === undefined) this.#learnedMs = ms;
    } catch (err) {
      this.#onError(err);
    }
  }

  /** A sale's settled measurement: the prior of every sale forecast from now on, written through now and then. */
  learn(ms: number, now: number): void {
    if (!usable(ms)) return;
    this.#learnedMs = ms;
    if (!this.#store || now - this.#writtenAt < WRITE_EVERY_MS) return;
    this.#writtenAt = now;
    this.#store.write(Math.round(ms)).catch(this.#onError);
  }
}
