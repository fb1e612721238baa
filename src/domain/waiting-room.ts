import type { Clock } from './clock.ts';
import { DomainError } from './errors.ts';
import type { HeartbeatPolicy, QueueCounts, QueueEntry, QueueStore } from './queue-store.ts';
import { isWellFormedKey, newAccessKey, pollAfterFor } from './queue-store.ts';

/** The waiting room's settings, as configured (TR_ADMIT_PER_SECOND, TR_MAX_ACTIVE...). */
export interface WaitingRoomSettings {
  admitPerSecond: number;
  maxActive: number;
  activeTtlSeconds: number;
  tokenGraceSeconds: number;
  idleTimeoutSeconds: number;
}

export interface QueueTicket {
  accessKey?: string;
  /** 0 when admitted, otherwise the 1-based place in line (the seed's client polls until 0). */
  order: number;
  status: 'WAITING' | 'ACTIVE';
  position: number;
  etaSeconds: number;
  pollAfterMs: number;
}

export interface WaitingRoomCounts extends QueueCounts {
  admitPerSecond: number;
  measuredAdmitPerSecond: number | undefined;
}

const MIN_POLL_MS = 1000;
const MAX_POLL_MS = 20_000;
/** Advice is a fifth of the ETA: a user who follows it waits at most ~20 % longer than needed. */
const POLL_SHARE_OF_ETA = 0.2;
const IDLE_FACTOR = 3;
const RATE_WINDOW_MS = 60_000;
/** Less measured time than this is not a measurement; the configured rate is used instead. */
const MIN_MEASURED_MS = 2000;
const TICK_MS = 250;
const MAX_BURST_MS = 2000;
/** Floor for the ETA divisor, so a stalled line gives a long but finite estimate. */
const MIN_RATE = 0.05;

interface RateSample {
  at: number;
  spanMs: number;
  admitted: number;
}

/** Queue tokens, admission at a rate up to a cap, position and ETA. Knows nothing of HTTP or Redis. */
export class WaitingRoom {
  readonly #store: QueueStore;
  readonly #clock: Clock;
  readonly #settings: WaitingRoomSettings;
  #admitPerSecond: number;
  #samples: RateSample[] = [];
  #measuredRate: number | undefined;
  #lastTick: { at: number; admittedTotal: number; waiting: number } | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #ticking = false;
  #onTickError: (err: unknown) => void;

  constructor(deps: {
    store: QueueStore;
    clock: Clock;
    settings: WaitingRoomSettings;
    onTickError?: (err: unknown) => void;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#settings = deps.settings;
    this.#admitPerSecond = deps.settings.admitPerSecond;
    this.#onTickError = deps.onTickError ?? (() => {});
  }

  async issueToken(userId: number): Promise<QueueTicket> {
    const accessKey = newAccessKey();
    const heartbeat = this.#heartbeat();
    const entry = await this.#store.issue(userId, accessKey, this.#clock.now(), heartbeat);
    return { accessKey, ...this.#ticketOf(entry, heartbeat) };
  }

  async poll(userId: number, accessKey: string | undefined): Promise<QueueTicket> {
    // The advice given back is the one the store set the idle deadline from, even if the rate moved meanwhile.
    const heartbeat = this.#heartbeat();
    const entry = await this.#store.status(this.#wellFormed(accessKey), this.#clock.now(), heartbeat, userId);
    return this.#ticketOf(entry, heartbeat);
  }

  /** For routes that name a user: the key must be that user's and admitted. */
  async authorizeAdmitted(userId: number, accessKey: string | undefined): Promise<void> {
    this.#mustBeActive(
      await this.#store.status(this.#wellFormed(accessKey), this.#clock.now(), this.#heartbeat(), userId),
    );
  }

  /** For routes that name no user: any admitted key; returns its holder. */
  async authorizeAnyAdmitted(accessKey: string | undefined): Promise<number> {
    const entry = await this.#store.status(this.#wellFormed(accessKey), this.#clock.now(), this.#heartbeat());
    this.#mustBeActive(entry);
    return entry.userId;
  }

  /** Frees the user's slot at once; the booking code calls it after a payment. */
  async releaseUser(userId: number): Promise<boolean> {
    return this.#store.release(userId, this.#clock.now());
  }

  /** One admission step; the ticker calls it, tests call it with a manual clock. */
  async tick(now = this.#clock.now()): Promise<{ admitted: number; evicted: number; expired: number }> {
    const outcome = await this.#store.admit(now, {
      ratePerSecond: this.#admitPerSecond,
      maxActive: this.#settings.maxActive,
      maxBurstMs: MAX_BURST_MS,
    });
    this.#measure(now, outcome.admittedTotal, outcome.waiting);
    return { admitted: outcome.admitted, evicted: outcome.evicted, expired: outcome.expired };
  }

  start(intervalMs = TICK_MS): void {
    if (this.#ticker) return;
    this.#ticker = setInterval(() => {
      if (this.#ticking) return;
      this.#ticking = true;
      this.tick()
        .catch(this.#onTickError)
        .finally(() => {
          this.#ticking = false;
        });
    }, intervalMs);
    this.#ticker.unref();
  }

  stop(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  setAdmitRate(perSecond: number): void {
    if (!(perSecond > 0)) throw new RangeError(`admission rate must be positive, got ${perSecond}`);
    this.#admitPerSecond = perSecond;
  }

  getAdmitRate(): number {
    return this.#admitPerSecond;
  }

  /** Admissions per second actually made while people were waiting, over the last minute (as of the last tick). */
  measuredAdmitRate(): number | undefined {
    return this.#measuredRate;
  }

  async counts(): Promise<WaitingRoomCounts> {
    return {
      ...(await this.#store.counts()),
      admitPerSecond: this.#admitPerSecond,
      measuredAdmitPerSecond: this.measuredAdmitRate(),
    };
  }

  #measure(now: number, admittedTotal: number, waitingAfter: number): void {
    const last = this.#lastTick;
    this.#lastTick = { at: now, admittedTotal, waiting: waitingAfter };
    // Only intervals that began with people waiting say anything about how fast the line moves.
    if (last && now > last.at && last.waiting > 0)
      this.#samples.push({
        at: now,
        spanMs: now - last.at,
        admitted: Math.max(0, admittedTotal - last.admittedTotal),
      });
    this.#samples = this.#samples.filter((s) => s.at > now - RATE_WINDOW_MS);
    let spanMs = 0;
    let admitted = 0;
    for (const s of this.#samples) {
      spanMs += s.spanMs;
      admitted += s.admitted;
    }
    this.#measuredRate = spanMs < MIN_MEASURED_MS ? undefined : (admitted * 1000) / spanMs;
  }

  #rate(): number {
    return Math.max(MIN_RATE, this.measuredAdmitRate() ?? this.#admitPerSecond);
  }

  #heartbeat(): HeartbeatPolicy {
    return {
      msPerPosition: (1000 * POLL_SHARE_OF_ETA) / this.#rate(),
      minPollMs: MIN_POLL_MS,
      maxPollMs: MAX_POLL_MS,
      idleFloorMs: this.#settings.idleTimeoutSeconds * 1000,
      idleFactor: IDLE_FACTOR,
    };
  }

  #ticketOf(entry: QueueEntry, heartbeat: HeartbeatPolicy): QueueTicket {
    if (entry.state === 'active')
      return { order: 0, status: 'ACTIVE', position: 0, etaSeconds: 0, pollAfterMs: MIN_POLL_MS };
    return {
      order: entry.position,
      status: 'WAITING',
      position: entry.position,
      etaSeconds: Math.ceil(entry.position / this.#rate()),
      pollAfterMs: pollAfterFor(entry.position, heartbeat),
    };
  }

  #wellFormed(accessKey: string | undefined): string {
    if (accessKey === undefined || accessKey === '')
      throw new DomainError('TOKEN_MISSING', 'An access key is required in the Authorization header');
    if (!isWellFormedKey(accessKey)) throw new DomainError('TOKEN_INVALID', 'Malformed access key');
    return accessKey;
  }

  #mustBeActive(entry: QueueEntry): void {
    if (entry.state !== 'active')
      throw new DomainError('NOT_ADMITTED', 'Still waiting in line', {
        position: entry.position,
        retryAfterSeconds: Math.ceil(pollAfterFor(entry.position, this.#heartbeat()) / 1000),
      });
  }
}
