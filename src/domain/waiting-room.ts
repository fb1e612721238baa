import { type AccessKeyClaims, AccessKeys } from './access-key.ts';
import type { Clock } from './clock.ts';
import { DomainError } from './errors.ts';
import { DrainForecast, type WindowOutlook } from './eta.ts';
import type { LearnedSession } from './learned-session.ts';
import type {
  AdmissionControl,
  ControlValues,
  ControlWrite,
  HeartbeatPolicy,
  QueueCounts,
  QueueEntry,
  QueueState,
  QueueStore,
} from './queue-store.ts';
import { ACTIVE_REFRESH_MS, pollAfterFor } from './queue-store.ts';

/** The waiting room's settings, as configured (TR_ADMIT_PER_SECOND, TR_MAX_ACTIVE...). */
export interface WaitingRoomSettings {
  admitPerSecond: number;
  maxActive: number;
  activeTtlSeconds: number;
  activeIdleSeconds: number;
  tokenGraceSeconds: number;
  idleTimeoutSeconds: number;
  /**
   * How long an admitted user is expected to hold a slot, for ETAs until departures are measured. Unset or 0:
   * nothing is assumed, and places that wait on departures get no ETA until half a window has left.
   */
  expectedSessionSeconds?: number;
}

/**
 * ADMITTED: the key is active. MOVING: the line advances; etaSeconds comes from the admission rate measured.
 * ESTIMATING: the line advances, but this place waits on admitted users leaving, and how long they stay is still
 * being measured (nothing assumed, less than half a window has left); etaSeconds is null until it is.
 * STALLED: every slot of the active-user window is taken and nobody was admitted lately; etaSeconds is null.
 */
export type AdmissionProgress = 'ADMITTED' | 'MOVING' | 'ESTIMATING' | 'STALLED';

export interface QueueTicket {
  accessKey?: string;
  /** 0 when admitted, otherwise the 1-based place in line (the seed's client polls until 0). */
  order: number;
  status: 'WAITING' | 'ACTIVE';
  position: number;
  /** Null when the line is stalled (no honest estimate exists until a slot frees) or ESTIMATING. */
  etaSeconds: number | null;
  admission: AdmissionProgress;
  pollAfterMs: number;
}

export interface WaitingRoomCounts extends QueueCounts {
  admitPerSecond: number;
  window: number;
  measuredAdmitPerSecond: number | undefined;
}

/** How full the room is, as of the last admission step. */
export interface Occupancy {
  active: number;
  waiting: number;
  window: number;
  rate: number;
}

const MIN_POLL_MS = 1000;
/**
 * Far back, the advice may reach a minute: the crowd beyond the cap sends N / 60 polls a second (it was N / 20
 * with a 15-20 s cap, 85 % of all requests in a 100,000-fan on-sale run, which saturated the server).
 */
export const MAX_POLL_MS = 60_000;
/** Advice is a fifth of the ETA: a user who follows it waits at most ~20 % longer than needed. */
const POLL_SHARE_OF_ETA = 0.2;
const IDLE_FACTOR = 3;
const RATE_WINDOW_MS = 60_000;
/** Less measured time than this is not a measurement; the configured rate is used instead. */
const MIN_MEASURED_MS = 2000;
const TICK_MS = 250;
const MAX_BURST_MS = 2000;
/** Floor for the poll-advice divisor, so a stalled line gets the longest advice rather than a division by 0. */
const MIN_RATE = 0.05;
/** A full window with nobody admitted for this long is a stalled line. */
const STALLED_AFTER_MS = 10_000;

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
  readonly #keys: AccessKeys;
  #admitPerSecond: number;
  #maxActive: number;
  /** Before a sale's opening, waiters keep their place until this time (plus the idle timeout) without polling. */
  #holdPlacesUntil = 0;
  #governed = false;
  #outlook: (() => WindowOutlook | undefined) | undefined;
  #occupancy: Occupancy;
  #lastAdmissionAt: number;
  #samples: RateSample[] = [];
  #measuredRate: number | undefined;
  readonly #drain: DrainForecast;
  readonly #learned: LearnedSession | undefined;
  #lastTick: { at: number; admittedTotal: number; waiting: number; halted: boolean } | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #ticking = false;
  #onTickError: (err: unknown) => void;

  constructor(deps: {
    store: QueueStore;
    clock: Clock;
    settings: WaitingRoomSettings;
    /** Signs and checks access keys; every process sharing the store must share its secret. */
    accessKeys?: AccessKeys;
    /**
     * The session length the last sale measured, shared by every room of the process: this room's prior until it
     * measures its own, and where it reports its own once settled. Without it: the configured prior only.
     */
    learnedSession?: LearnedSession;
    onTickError?: (err: unknown) => void;
  }) {
    this.#store = deps.store;
    this.#keys = deps.accessKeys ?? new AccessKeys();
    this.#clock = deps.clock;
    this.#settings = deps.settings;
    this.#admitPerSecond = deps.settings.admitPerSecond;
    this.#maxActive = deps.settings.maxActive;
    this.#occupancy = {
      active: 0,
      waiting: 0,
      window: deps.settings.maxActive,
      rate: deps.settings.admitPerSecond,
    };
    this.#lastAdmissionAt = deps.clock.now();
    const learned = deps.learnedSession;
    this.#learned = learned;
    const configured = deps.settings.expectedSessionSeconds;
    const configuredMs = configured ? configured * 1000 : undefined;
    this.#drain = new DrainForecast({
      priorSessionMs: learned ? () => learned.priorMs() : configuredMs,
      // A slot lapses between the idle time and the idle time plus the refresh slack after the last request.
      idleLapseMs: deps.settings.activeIdleSeconds * 1000 + ACTIVE_REFRESH_MS / 2,
    });
    this.#onTickError = deps.onTickError ?? (() => {});
  }

  /** With `prequeue` (before a sale's opening) the user is also an entrant of the sale's draw. */
  async issueToken(userId: number, prequeue = false): Promise<QueueTicket> {
    await this.#keys.load();
    const now = this.#clock.now();
    const accessKey = this.#keys.mint(userId, now);
    const heartbeat = this.#heartbeat();
    const entry = await this.#store.issue(userId, accessKey, now, heartbeat, prequeue);
    return { accessKey, ...this.#ticketOf(entry, heartbeat) };
  }

  async poll(userId: number, accessKey: string | undefined): Promise<QueueTicket> {
    // The advice given back is the one the store set the idle deadline from, even if the rate moved meanwhile.
    const heartbeat = this.#heartbeat();
    await this.#keys.load();
    const key = this.#keyOf(accessKey, userId);
    const entry = await this.#store.poll(userId, key, this.#clock.now(), heartbeat);
    return this.#ticketOf(entry, heartbeat);
  }

  /** For routes that name a user: the key must be that user's and admitted. */
  async authorizeAdmitted(userId: number, accessKey: string | undefined): Promise<void> {
    await this.#keys.load();
    const key = this.#keyOf(accessKey, userId);
    this.#mustBeActive(await this.#store.status(key, this.#clock.now(), this.#heartbeat(), userId));
  }

  /** For routes that name no user: any admitted key; returns its holder. */
  async authorizeAnyAdmitted(accessKey: string | undefined): Promise<number> {
    await this.#keys.load();
    // The signed holder is named, so the store reads that user's record instead of looking the key up.
    const { userId } = this.#claimsOf(accessKey);
    const entry = await this.#store.status(accessKey!, this.#clock.now(), this.#heartbeat(), userId);
    this.#mustBeActive(entry);
    return entry.userId;
  }

  /** Frees the user's slot at once; the booking code calls it after a payment. */
  async releaseUser(userId: number): Promise<boolean> {
    return this.#store.release(userId, this.#clock.now());
  }

  /** The key's holder leaves the line or frees the slot at once (a page closed, "leave the queue"). */
  async leave(userId: number, accessKey: string | undefined): Promise<QueueState> {
    await this.#keys.load();
    return this.#store.leave(userId, this.#keyOf(accessKey, userId), this.#clock.now());
  }

  /** One admission step; the ticker calls it, tests call it with a manual clock. */
  async tick(now = this.#clock.now()): Promise<{ admitted: number; evicted: number; expired: number }> {
    const outcome = await this.#store.admit(now, {
      ratePerSecond: this.#admitPerSecond,
      maxActive: this.#maxActive,
      maxBurstMs: MAX_BURST_MS,
      governed: this.#governed,
    });
    const { active, waiting, window, rate } = outcome;
    this.#occupancy = { active, waiting, window, rate };
    if (this.#lastTick === undefined || outcome.admittedTotal > this.#lastTick.admittedTotal || waiting === 0)
      this.#lastAdmissionAt = now;
    this.#measure(now, outcome.admittedTotal, outcome.waiting, window <= 0);
    this.#drain.observe({ at: now, ...outcome, outlook: this.#outlook?.() });
    // Only a step that took a sample teaches: a line that stopped selling must not keep re-asserting its old figure
    // over what a sale selling now measures.
    if (this.#learned && this.#drain.settledAt === now) {
      const settled = this.#drain.settledSessionMs();
      if (settled !== undefined) this.#learned.learn(settled, now);
    }
    return { admitted: outcome.admitted, evicted: outcome.evicted, expired: outcome.expired };
  }

  /**
   * From now on admission follows the window and rate in the store, which an adaptive controller writes; its
   * outlook (how it will move them while healthy) shapes the ETA.
   */
  governBySharedControl(outlook?: () => WindowOutlook | undefined): void {
    this.#governed = true;
    this.#outlook = outlook;
  }

  occupancy(): Occupancy {
    return { ...this.#occupancy };
  }

  readControl(): Promise<AdmissionControl | undefined> {
    return this.#store.readControl();
  }

  writeControl(version: number, next: ControlValues): Promise<ControlWrite> {
    return this.#store.writeControl(version, next, this.#clock.now());
  }

  /** Waiting users, a full window, and nobody admitted for a while: the line does not move. */
  stalled(now = this.#clock.now()): boolean {
    const o = this.#occupancy;
    return o.waiting > 0 && o.active >= o.window && now - this.#lastAdmissionAt >= STALLED_AFTER_MS;
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

  /** The cap on users active at once from the next step on (0 stops admission; expiries go on). */
  setMaxActive(maxActive: number): void {
    if (!(maxActive >= 0)) throw new RangeError(`the cap must be 0 or more, got ${maxActive}`);
    this.#maxActive = maxActive;
  }

  /** Waiters keep their place without polling until `at` (a sale's opening), then the usual idle rules apply. */
  holdPlacesUntil(at: number): void {
    this.#holdPlacesUntil = at;
  }

  /**
   * How long after the line starts moving the user at `position` should first ask: the poll advice without its
   * one-second floor. A line placed before it moves (a sale drawn ahead of its opening) then comes back in order,
   * about as fast as its places are advised anyway, instead of its whole front at the floor in the same instant.
   */
  firstAskAfterStartMs(position: number): number {
    return pollAfterFor(position, { ...this.#heartbeat(), minPollMs: 0 });
  }

  /** The rate used when not governed by the shared control. */
  setAdmitRate(perSecond: number): void {
    if (!(perSecond > 0)) throw new RangeError(`admission rate must be positive, got ${perSecond}`);
    this.#admitPerSecond = perSecond;
  }

  /** The admission rate in force at the last step (the shared control's when governed). */
  getAdmitRate(): number {
    return this.#occupancy.rate;
  }

  /** The active-user window in force at the last step. */
  getWindow(): number {
    return this.#occupancy.window;
  }

  /** Admissions per second actually made while people were waiting, over the last minute (as of the last tick). */
  measuredAdmitRate(): number | undefined {
    return this.#measuredRate;
  }

  async counts(): Promise<WaitingRoomCounts> {
    return {
      ...(await this.#store.counts()),
      admitPerSecond: this.getAdmitRate(),
      window: this.getWindow(),
      measuredAdmitPerSecond: this.measuredAdmitRate(),
    };
  }

  #measure(now: number, admittedTotal: number, waitingAfter: number, halted: boolean): void {
    const last = this.#lastTick;
    this.#lastTick = { at: now, admittedTotal, waiting: waitingAfter, halted };
    // Only intervals that began with people waiting say anything about how fast the line moves; a halted
    // admission (a sale's pre-queue, a pause) says nothing of the pace once it runs, so its seconds are left out.
    if (last && now > last.at && last.waiting > 0 && !last.halted && !halted)
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
      // A fifth of the ETA, and never longer than the full budget (bursts aside) takes to admit everyone ahead: an
      // admitted user lapses activeIdleSeconds after admission without a request, so the advice must bring the user
      // back by then even when the line moves faster than forecast. Far back, that is what lets the advice exceed
      // the active idle time (a fan 12,000 places back at 200 a second cannot be admitted within a minute).
      msPerPosition: Math.min(
        (1000 * POLL_SHARE_OF_ETA) / this.#rate(),
        1000 / Math.max(MIN_RATE, this.#admitPerSecond),
      ),
      minPollMs: MIN_POLL_MS,
      maxPollMs: MAX_POLL_MS,
      idleFloorMs:
        this.#settings.idleTimeoutSeconds * 1000 + Math.max(0, this.#holdPlacesUntil - this.#clock.now()),
      idleFactor: IDLE_FACTOR,
    };
  }

  #ticketOf(entry: QueueEntry, heartbeat: HeartbeatPolicy): QueueTicket {
    if (entry.state === 'active')
      return {
        order: 0,
        status: 'ACTIVE',
        position: 0,
        etaSeconds: 0,
        admission: 'ADMITTED',
        pollAfterMs: MIN_POLL_MS,
      };
    const stalled = this.stalled();
    const forecast = stalled ? undefined : this.#drain.etaSeconds(entry.position);
    const estimating = !stalled && forecast === undefined && this.#drain.measuringSession();
    return {
      order: entry.position,
      status: 'WAITING',
      position: entry.position,
      etaSeconds: stalled || estimating ? null : Math.ceil(forecast ?? entry.position / this.#rate()),
      admission: stalled ? 'STALLED' : estimating ? 'ESTIMATING' : 'MOVING',
      pollAfterMs: pollAfterFor(entry.position, heartbeat),
    };
  }

  /** The claims of a key this room signed: a forged or garbled key never reaches the store. */
  #claimsOf(accessKey: string | undefined): AccessKeyClaims {
    if (accessKey === undefined || accessKey === '')
      throw new DomainError('TOKEN_MISSING', 'An access key is required in the Authorization header');
    const claims = this.#keys.verify(accessKey);
    // Forged, garbled, or signed with a secret no longer in use: to the holder, an unknown key.
    if (!claims) throw new DomainError('TOKEN_INVALID', 'Unknown access key; issue a new token');
    return claims;
  }

  /** A key this room signed for `userId`; a key shown for another user never reaches the store either. */
  #keyOf(accessKey: string | undefined, userId: number): string {
    if (this.#claimsOf(accessKey).userId !== userId)
      throw new DomainError('TOKEN_NOT_YOURS', 'This access key belongs to another user');
    return accessKey!;
  }

  #mustBeActive(entry: QueueEntry): void {
    if (entry.state !== 'active')
      throw new DomainError('NOT_ADMITTED', 'Still waiting in line', {
        position: entry.position,
        retryAfterSeconds: Math.ceil(pollAfterFor(entry.position, this.#heartbeat()) / 1000),
      });
  }
}
