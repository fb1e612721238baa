/** What one admission step saw of the line (the store's totals are every process's). */
export interface DrainStep {
  at: number;
  admittedTotal: number;
  active: number;
  waiting: number;
  /** Waiters this step dropped from the line (idle). */
  evicted: number;
  /** Admitted users whose slot this step let lapse (idle or at the end of the admission), not freed by the user. */
  expired?: number;
  /** The cap on users active at once in force (0: admission halted). */
  window: number;
  /** Admissions per second while the window has room. */
  rate: number;
  /** How an adaptive controller will move the window and rate while healthy; undefined: they stay. */
  outlook?: WindowOutlook;
}

/**
 * How adaptive admission moves the window and the rate while the booking path stays healthy. A sale opens on a
 * small window that grows each interval while it is the limit: a forecast that held it at its size would tell
 * the fans at the opening several times their wait.
 */
export interface WindowOutlook {
  /** How often the controller steps. */
  intervalMs: number;
  /** Each step while the window is the limit adds this share of it, and at least minWindowStep... */
  windowGrowth: number;
  minWindowStep: number;
  /** ...up to this window: the cap, or the middle of the sawtooth once two cuts came from about the same window. */
  windowCeiling: number;
  /** The window is the limit when this share of it is taken and people wait. */
  fullShare: number;
  /** Each step while people wait adds this to the rate, up to maxRate... */
  rateStep: number;
  maxRate: number;
  /** ...or, below the rate a cut came down from (`to`), this share of what is missing if that is more. */
  rateRecovery?: { to: number; share: number };
}

export interface DrainForecastOptions {
  /**
   * How long an admitted user is assumed to hold a slot until departures are measured; a function is asked each
   * time (a prior learned from another sale may arrive later). Undefined: nothing is assumed, and places that wait
   * on departures get no ETA until half a window has left (see sessionMs).
   */
  priorSessionMs: number | undefined | (() => number | undefined);
  /**
   * How long an admitted user who stopped making requests keeps the slot before it lapses (the active idle
   * time). Users still active well past the measured session mostly walked away (sold out, gave up): they
   * leave this long after their session would have ended, not at once. Undefined: they leave soon.
   */
  idleLapseMs?: number;
}

interface Point {
  at: number;
  /** Cumulative admissions and departures (from the first step seen). */
  admitted: number;
  departed: number;
  /** Cumulative departures that were lapses (a slot nobody freed). */
  lapsed: number;
}

/** History kept: sessions longer than this are not measured (they still count as "at least this"). */
const HISTORY_MS = 10 * 60_000;
/** Departures needed before the measured session length replaces the prior. */
const MIN_DEPARTURES = 20;
/**
 * Without a prior, the share of a window that must have left before a session is told: by then the oldest
 * admission still active is about the median session (the quickest half has left), so the estimate has a basis.
 */
const TRUST_WITHOUT_PRIOR = 0.5;
/** Session lengths are averaged over the departures of this recent span. */
const SESSION_SPAN_MS = 15_000;
/** Forecast resolution, and how far ahead it is simulated before extrapolating at the last pace. */
const STEP_MS = 500;
const HORIZON_MS = 30 * 60_000;
/** With no session known, admissions stop once the window's free room is used: no longer simulated. */
const UNKNOWN_SESSION_HORIZON_MS = 5 * 60_000;
/** Sessions vary: a departure wave is spread over these shares of the mean session. */
const SPREAD = [0.7, 0.85, 1, 1.15, 1.3];
/** The admissions the budget really yields are measured over this span, once it holds MIN_RATE_SPAN_MS of steps. */
const RATE_SPAN_MS = 5000;
const MIN_RATE_SPAN_MS = 2000;
/** Departures are checked against the session curve over this recent span (who walked away instead). */
const LEAVING_SPAN_MS = 3000;
/** The last session's departures short of the curve by this share confirm users walking away (see #leavingShare). */
const LEAVING_CONFIRM = 0.9;
/**
 * A window that moved over this recent span (adaptive admission: a cut, then growth until the next cut) is
 * forecast at its mean over the span: the line drains at the sawtooth's mean, not at its low after a cut nor
 * its high before one.
 */
const WINDOW_SPAN_MS = 30_000;
/**
 * A settled session (a whole window left, people still waiting, and the recent departures users freeing their slot,
 * not slots lapsing: the sale sells) is sampled this often; their median, once there are SETTLED_SAMPLES, is what
 * the line measured for the next sale's prior. After a sell-out, admitted users find nothing and walk away: their
 * slots lapse an idle time later, for minutes while abandoned holds keep a few seats in play, and sessions measured
 * then tell nothing of a purchase. The median, as a few such seconds and the first (quickest) departures would pull
 * a mean.
 */
const SETTLED_EVERY_MS = 1000;
/** Recent departures that may be lapses for the session to count as settled. */
const SETTLED_LAPSE_SHARE = 0.1;
const SETTLED_SAMPLES = 5;
const MAX_SETTLED_SAMPLES = 600;

/**
 * Forecasts how the line drains, from what the admission steps saw. Admission is limited by the rate budget
 * until the active window is full, then by the rate slots free up. Slots free when admitted users leave: the
 * cumulative departure curve follows the cumulative admission curve shifted by the mean session (the
 * horizontal distance between the two curves, Little's law read on cumulative counts), so a window that
 * filled in a burst frees in a burst one session later, and users admitted from now on free theirs one
 * session after their own admission. When recent departures fall short of that curve (a sell-out: admitted users
 * find nothing and stop making requests), that share keeps its slot until it lapses, an idle time later. Waiters
 * dropped from the line (idle) move those behind them forward.
 */
export class DrainForecast {
  readonly #prior: () => number | undefined;
  readonly #idleLapseMs: number | undefined;
  #points: Point[] = [];
  #last: DrainStep | undefined;
  #lineLossPerMs = 0;
  /** Steps whose admissions the budget limited (people waiting, room in the window): what it really yields. */
  #budgetSteps: { at: number; spanMs: number; admitted: number }[] = [];
  /** Steps with admission running (window > 0) over the last WINDOW_SPAN_MS: their windows. */
  #windows: { at: number; window: number }[] = [];
  /** Cumulative admissions from now, every STEP_MS; recomputed lazily after each step. */
  #table: number[] | undefined;
  #tableAt = 0;
  /** The table was simulated with no session known (no departures forecast). */
  #tableBlind = false;
  /** Session lengths measured while settled, one per SETTLED_EVERY_MS, oldest first. */
  #settled: number[] = [];
  #settledAt = Number.NEGATIVE_INFINITY;

  constructor(opts: DrainForecastOptions) {
    const prior = opts.priorSessionMs;
    this.#prior = typeof prior === 'function' ? prior : () => prior;
    this.#idleLapseMs = opts.idleLapseMs;
  }

  observe(step: DrainStep): void {
    const last = this.#last;
    const prev = this.#points.at(-1);
    if (!last || !prev) {
      // Users already active count as admitted now: they leave one session from now, as far as is known.
      this.#points.push({ at: step.at, admitted: step.active, departed: 0, lapsed: 0 });
    } else if (step.at >= last.at) {
      const admitted = Math.max(0, step.admittedTotal - last.admittedTotal);
      const departed = Math.max(0, last.active + admitted - step.active);
      const point = {
        at: step.at,
        admitted: prev.admitted + admitted,
        departed: prev.departed + departed,
        lapsed: prev.lapsed + Math.min(departed, step.expired ?? 0),
      };
      if (step.at === prev.at) this.#points[this.#points.length - 1] = point;
      else this.#points.push(point);
      const spanMs = step.at - last.at;
      if (spanMs > 0 && step.waiting > 0 && step.active < step.window && step.window > 0)
        this.#budgetSteps.push({ at: step.at, spanMs, admitted });
      if (spanMs > 0 && last.waiting > 0) {
        // Losses per waiter and ms, smoothed over about ten seconds of steps.
        const loss = step.evicted / last.waiting / spanMs;
        const w = Math.min(1, spanMs / 10_000);
        this.#lineLossPerMs = this.#lineLossPerMs * (1 - w) + loss * w;
      }
    }
    this.#last = step;
    if (step.window > 0) this.#windows.push({ at: step.at, window: step.window });
    else this.#windows = [];
    while (this.#windows.length && this.#windows[0].at < step.at - WINDOW_SPAN_MS) this.#windows.shift();
    const cutoff = step.at - HISTORY_MS;
    let drop = 0;
    while (drop < this.#points.length - 2 && this.#points[drop + 1].at < cutoff) drop++;
    if (drop) this.#points.splice(0, drop);
    while (this.#budgetSteps.length && this.#budgetSteps[0].at < step.at - RATE_SPAN_MS)
      this.#budgetSteps.shift();
    this.#table = undefined;
    this.#sampleSettled(step);
  }

  #sampleSettled(step: DrainStep): void {
    if (step.waiting <= 0 || step.at - this.#settledAt < SETTLED_EVERY_MS || this.#sessionTrust() < 1) return;
    const pts = this.#points;
    const last = pts[pts.length - 1];
    let i = pts.length - 1;
    while (i > 0 && pts[i - 1].at >= step.at - SESSION_SPAN_MS) i--;
    const from = pts[Math.max(0, i - 1)];
    const departed = last.departed - from.departed;
    if (departed < MIN_DEPARTURES || last.lapsed - from.lapsed > departed * SETTLED_LAPSE_SHARE) return;
    this.sessionMs(); // refreshes the measurement
    if (this.#measuredSession === undefined) return;
    this.#settledAt = step.at;
    this.#settled.push(this.#measuredSession);
    if (this.#settled.length > MAX_SETTLED_SAMPLES) this.#settled.shift();
  }

  /** When the last settled sample was taken (the step's time); -Infinity before the first. */
  get settledAt(): number {
    return this.#settledAt;
  }

  /**
   * The session length this line measured while it sold (a whole window had left and people waited): the median
   * of its samples, undefined until there are enough.
   */
  settledSessionMs(): number | undefined {
    if (this.#settled.length < SETTLED_SAMPLES) return undefined;
    const sorted = [...this.#settled].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  /**
   * The mean time an admitted user holds a slot: measured once enough users left, else the prior (or the age
   * of the oldest admission still active, when that is longer: nobody left, so sessions last at least that).
   * Undefined while there is no prior and less than half a window has left: a guess would be told as a forecast.
   */
  sessionMs(): number | undefined {
    const pts = this.#points;
    const now = this.#last?.at ?? 0;
    const last = pts.at(-1);
    const prior = this.#prior();
    if (!last || last.admitted === 0) return prior;
    // Nobody left yet: sessions last at least as long as the oldest admission still active.
    // (The oldest still active is the next one in: counting from its admission, not from a halted pre-queue.)
    if (prior === undefined && (last.departed < MIN_DEPARTURES || this.#sessionTrust() < TRUST_WITHOUT_PRIOR))
      return undefined;
    const floor = Math.max(prior ?? 0, now - this.#admittedAt(last.departed + 1));
    if (last.departed < MIN_DEPARTURES) return floor;
    // Mean horizontal distance between the curves over the recent departures.
    let sum = 0;
    let n = 0;
    for (let i = pts.length - 1; i > 0 && pts[i].at >= now - SESSION_SPAN_MS; i--) {
      const gone = pts[i].departed - pts[i - 1].departed;
      if (gone <= 0) continue;
      sum += gone * (pts[i].at - this.#admittedAt(pts[i].departed - gone / 2));
      n += gone;
    }
    if (n > 0) this.#measuredSession = sum / n;
    const measured = this.#measuredSession ?? floor;
    // The first departures are the quickest users: until a whole window has left, the prior keeps a say.
    const trust = this.#sessionTrust();
    return trust * measured + (1 - trust) * floor;
  }

  #measuredSession: number | undefined;

  /** How far measured sessions are trusted: the first departures are the quickest users, so 1 once a window left. */
  #sessionTrust(): number {
    const departed = this.#points.at(-1)?.departed ?? 0;
    return Math.min(1, departed / Math.max(MIN_DEPARTURES, this.#last?.window ?? 0));
  }

  /**
   * Admissions per second while the window has room: the budget, or less when steps run late or short (a busy
   * process, a store that answers slowly), as measured over the last seconds.
   */
  admitRate(): number {
    const budget = this.#last?.rate ?? 0;
    let spanMs = 0;
    let admitted = 0;
    for (const s of this.#budgetSteps) {
      spanMs += s.spanMs;
      admitted += s.admitted;
    }
    if (spanMs < MIN_RATE_SPAN_MS) return budget;
    return Math.min(budget, Math.max((admitted * 1000) / spanMs, budget * 0.05));
  }

  /** The window the forecast drains by: the one in force, or its mean over the recent span when it moved. */
  window(): number {
    const last = this.#last?.window ?? 0;
    const ws = this.#windows;
    if (last <= 0 || ws.length < 2 || ws.every((w) => w.window === last)) return last;
    let sum = 0;
    for (const w of ws) sum += w.window;
    return sum / ws.length;
  }

  /**
   * Whether the session is still being measured with nothing assumed (no prior, less than half a window left):
   * places beyond what the window's room admits get no ETA meanwhile.
   */
  measuringSession(): boolean {
    return this.#last !== undefined && this.sessionMs() === undefined;
  }

  /**
   * Seconds until the user at `position` (1-based) is admitted; undefined when admission is halted, or when the
   * place waits on departures while the session is still being measured (measuringSession).
   */
  etaSeconds(position: number): number | undefined {
    const last = this.#last;
    if (!last) return undefined;
    if (last.window <= 0 || last.rate <= 0) return undefined;
    const table = this.#forecast();
    // Reached only through departures nobody can forecast yet (losses from the line aside: those are forecast).
    if (this.#tableBlind && table[table.length - 1] < position) return undefined;
    const loss = this.#lineLossPerMs;
    // Losses ahead move the user forward: the places ahead shrink at the line's loss rate.
    const needed = (i: number) => position * Math.exp(-loss * i * STEP_MS);
    const n = table.length - 1;
    if (table[n] >= needed(n)) {
      // table rises and needed falls: the first step where they cross, by bisection.
      let lo = 0;
      let hi = n;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (table[mid] >= needed(mid)) hi = mid;
        else lo = mid;
      }
      const gap = table[hi] - table[lo];
      const within = gap > 0 ? Math.min(1, Math.max(0, (needed(hi) - table[lo]) / gap)) : 1;
      return ((lo + within) * STEP_MS) / 1000;
    }
    // Past the horizon: the pace of the last simulated quarter.
    const q = Math.floor(n * 0.75);
    const pace = (table[n] - table[q]) / ((n - q) * STEP_MS);
    if (!(pace > 0)) return undefined;
    return (n * STEP_MS + (position - table[n]) / pace) / 1000;
  }

  /** Cumulative admissions at i x STEP_MS from the last step, simulated until the whole line is in. */
  #forecast(): number[] {
    const last = this.#last as DrainStep;
    if (this.#table && this.#tableAt === last.at) return this.#table;
    // No session known (no prior, too few departures): nobody is forecast to leave, so only the places the window's
    // free room admits are reached; the rest have no ETA yet.
    const known = this.sessionMs();
    const session = known ?? 0;
    const now = last.at;
    const base = this.#points.at(-1) as Point;
    // Admissions simulated from now: cumulative, from base.admitted on.
    const future: number[] = [base.admitted];
    const admittedBy = (t: number): number => {
      if (t <= now) return this.#admittedBy(t);
      const i = (t - now) / STEP_MS;
      const lo = Math.floor(i);
      if (lo >= future.length - 1) return future[future.length - 1];
      return future[lo] + (future[lo + 1] - future[lo]) * (i - lo);
    };
    const inSession = (t: number): number => {
      if (known === undefined) return base.departed;
      let sum = 0;
      for (const share of SPREAD) sum += admittedBy(t - session * share);
      return sum / SPREAD.length;
    };
    // The share of users who leave at the end of their session; the others (who found nothing and walked away)
    // keep their slot an idle time longer, as the departures of the last seconds tell.
    const lapseMs = this.#idleLapseMs;
    // Until a whole window has left, departures short of the curve say the prior session was too short (a
    // sale's first admitted users take longer than assumed), not that users walked away.
    const staying =
      lapseMs === undefined || this.#sessionTrust() < 1 ? 1 : this.#leavingShare(now, inSession, session);
    const departedBy = (t: number): number =>
      staying === 1 ? inSession(t) : staying * inSession(t) + (1 - staying) * inSession(t - (lapseMs ?? 0));
    const table = [0];
    let active = last.active;
    let credit = 0;
    let rate = this.admitRate();
    // Blind, the window's growth is not forecast either: it would reach places departures reach sooner.
    const outlook = known === undefined ? undefined : last.outlook;
    // With an outlook the window starts where it is and follows the controller; without, its recent mean holds.
    let window = outlook ? last.window : this.window();
    const stepsPerInterval = outlook ? Math.max(1, Math.round(outlook.intervalMs / STEP_MS)) : 0;
    // Users the curves say should have left but have not: those past their session by more than the spread
    // walked away and lapse an idle time after their session ended; the others (slow, or past even that) leave
    // over the coming stretch.
    const overdue = Math.max(0, departedBy(now) - base.departed);
    const lapseAfter = session * SPREAD[SPREAD.length - 1] + (lapseMs ?? 0);
    /** Overdue users gone by t: admitted (in order) before t less the session, its spread and the idle lapse. */
    const walkedBy = (t: number): number =>
      lapseMs === undefined
        ? overdue
        : Math.min(overdue, Math.max(0, this.#admittedBy(t - lapseAfter) - base.departed));
    const pastLapse = walkedBy(now);
    const overdueMs = Math.max(STEP_MS, session * 0.3);
    // Departures the curve places before now but that already happened (users who left early) free no slot again.
    let departedSoFar = Math.max(departedBy(now), base.departed);
    let walkedSoFar = walkedBy(now);
    const line = last.waiting;
    const steps = HORIZON_MS / STEP_MS;
    for (let k = 1; k <= steps; k++) {
      const t = now + k * STEP_MS;
      const departedThen = Math.max(departedSoFar, departedBy(t));
      const walkedThen = Math.max(walkedSoFar, walkedBy(t));
      const late = k * STEP_MS <= overdueMs ? (pastLapse * STEP_MS) / overdueMs : 0;
      active = Math.max(0, active - (departedThen - departedSoFar) - (walkedThen - walkedSoFar) - late);
      departedSoFar = departedThen;
      walkedSoFar = walkedThen;
      // Whoever asks is still waiting, so the window is still the limit if it is full.
      if (outlook && k % stepsPerInterval === 0) {
        if (active >= window * outlook.fullShare && window < outlook.windowCeiling)
          window = Math.min(
            outlook.windowCeiling,
            window + Math.max(outlook.minWindowStep, Math.round(window * outlook.windowGrowth)),
          );
        if (rate < outlook.maxRate) rate = Math.min(outlook.maxRate, rate + rateStepOf(outlook, rate));
      }
      credit += (rate * STEP_MS) / 1000;
      const admit = Math.max(0, Math.min(credit, window - active));
      credit = Math.min(credit - admit, rate); // an unused budget does not pile up (a second's worth)
      active += admit;
      table.push(table[k - 1] + admit);
      future.push(future[k - 1] + admit);
      if (table[k] >= line + 1 && k * STEP_MS >= session * 2) break;
      if (known === undefined && k * STEP_MS >= UNKNOWN_SESSION_HORIZON_MS) break;
    }
    this.#table = table;
    this.#tableAt = last.at;
    this.#tableBlind = known === undefined;
    return table;
  }

  /**
   * Departures seen over the last LEAVING_SPAN_MS against those the session curve predicted for that span: 1 when
   * too few were due to tell. A window that filled in bursts empties in waves, a session apart and sharper than the
   * curve's spread: over a few seconds the lull between two waves looks like users walking away (fans told in one
   * were told twice their wait). So the short span speaks only once the last whole session (a wave's period, which
   * a lull cannot fake) also fell short by LEAVING_CONFIRM; until then, that session's share.
   */
  #leavingShare(now: number, inSession: (t: number) => number, session: number): number {
    const overSession = this.#seenShare(now, Math.max(LEAVING_SPAN_MS, session), inSession);
    if (overSession >= LEAVING_CONFIRM) return overSession;
    return this.#seenShare(now, LEAVING_SPAN_MS, inSession);
  }

  /** Departures seen over the last `spanMs` against those the session curve predicted: 1 when too few were due. */
  #seenShare(now: number, spanMs: number, inSession: (t: number) => number): number {
    const from = now - spanMs;
    const pts = this.#points;
    if (!pts.length || pts[0].at > from) return 1;
    const due = inSession(now) - inSession(from);
    if (due < MIN_DEPARTURES) return 1;
    const seen = (pts.at(-1) as Point).departed - this.#departedBy(from);
    return Math.min(1, Math.max(0, seen / due));
  }

  /** Cumulative departures at time t, from the history (linear between steps). */
  #departedBy(t: number): number {
    const pts = this.#points;
    let i = pts.length - 1;
    while (i > 0 && pts[i].at > t) i--;
    const a = pts[i];
    const b = pts[i + 1];
    if (!b || t <= a.at) return a.departed;
    return a.departed + ((b.departed - a.departed) * (t - a.at)) / (b.at - a.at);
  }

  /** Cumulative admissions at time t, from the history (linear between steps). */
  #admittedBy(t: number): number {
    const pts = this.#points;
    if (!pts.length || t <= pts[0].at) return pts[0]?.admitted ?? 0;
    let lo = 0;
    let hi = pts.length - 1;
    if (t >= pts[hi].at) return pts[hi].admitted;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (pts[mid].at <= t) lo = mid;
      else hi = mid;
    }
    const a = pts[lo];
    const b = pts[hi];
    return a.admitted + ((b.admitted - a.admitted) * (t - a.at)) / (b.at - a.at);
  }

  /** When cumulative admissions reached `count` (the first time). */
  #admittedAt(count: number): number {
    const pts = this.#points;
    if (!pts.length) return 0;
    let lo = 0;
    let hi = pts.length - 1;
    if (pts[hi].admitted < count) return pts[hi].at;
    if (pts[0].admitted >= count) return pts[0].at;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (pts[mid].admitted < count) lo = mid;
      else hi = mid;
    }
    const a = pts[lo];
    const b = pts[hi];
    return b.admitted === a.admitted
      ? b.at
      : a.at + ((b.at - a.at) * (count - a.admitted)) / (b.admitted - a.admitted);
  }
}

/**
 * What a healthy step of the controller adds to the rate: AdaptiveAdmission steps by it, and the forecast follows
 * the same steps.
 */
export function rateStepOf(
  outlook: { rateStep: number; rateRecovery?: WindowOutlook['rateRecovery'] | undefined },
  rate: number,
): number {
  const back = outlook.rateRecovery;
  return back && rate < back.to
    ? Math.max(outlook.rateStep, (back.to - rate) * back.share)
    : outlook.rateStep;
}
