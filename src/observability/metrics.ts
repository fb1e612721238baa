import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ACQUIRE_CLASSES, type AcquireQueueStats } from '../db/acquire-queue.ts';
import type { PoolStats } from '../db/database.ts';
import type { RetryStats } from '../db/transaction.ts';
import type { QueueCounts } from '../domain/queue-store.ts';
import type { SaleCounters } from '../domain/sales/model.ts';
import type { PressureStats } from './pressure-monitor.ts';

type MaybePromise<T> = T | Promise<T>;

export interface OutboxStats {
  backlog: number;
  lagMs: number;
}

/** Read at scrape time; any of them may be left out, and a source that throws only leaves its gauges stale. */
export interface MetricSources {
  pool?: () => PoolStats;
  /** The connection queue by class: how long its oldest checkout has waited, whether it stands. */
  acquireQueue?: () => AcquireQueueStats;
  queue?: () => MaybePromise<QueueCounts>;
  admitRate?: () => number;
  admitWindow?: () => number;
  outbox?: () => MaybePromise<OutboxStats>;
  pressure?: () => PressureStats;
  /** Transaction retries after deadlocks and serialization failures, counted since the process started. */
  transactionRetries?: () => RetryStats;
  /** The session length a sale's ETAs assume until it has measured its own (ms). */
  etaPriorSessionMs?: () => number | undefined;
  /** Counters per sale, a bounded set of labels (the source folds the rest into `other`). */
  sales?: () => MaybePromise<Array<{ sale: string; counters: SaleCounters }>>;
}

const SALE_SERIES: Array<[field: keyof SaleCounters, help: string]> = [
  ['waiting', "Users waiting in the sale's line"],
  ['prequeued', "Users who joined the sale's pre-queue (entrants of its draw)"],
  ['active', 'Users of the sale admitted and active'],
  ['admittedTotal', 'Users the sale admitted in all'],
  ['holds', "Seats of the sale's schedules held now"],
  ['sold', "Seats of the sale's schedules sold"],
  ['revenue', "Points paid for seats of the sale's schedules"],
  ['admitPerSecond', "The sale's admission rate (measured over the last minute, else the configured one)"],
  ['window', 'Users of the sale admitted at once at most, as adaptive admission sets it; 0 while halted'],
  ['pacePerSecond', "The sale's admission rate in force (adaptive admission's, at most its admitPerSecond)"],
];

const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export type BookingStep = 'hold' | 'payment';

export interface AdmitRateChangeEvent {
  /** What changed: the admission rate or the active-user window. */
  knob: 'rate' | 'window';
  from: number;
  to: number;
  signal: string;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** One finished HTTP request; `route` is the route template or 'unmatched'. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** e.g. bookingOutcome('hold', 'ok'), bookingOutcome('payment', 'insufficient_points'). */
  bookingOutcome(step: BookingStep, outcome: string): void;
  /** Time one checkout waited for a pooled database connection, by its class (payment, hold...). */
  poolWait(seconds: number, cls?: string): void;
  /** One request answered 503 OVERLOADED by the overload guard: what it was and why it was refused. */
  shed(target: string, reason: string): void;
  /** A change of the admission rate or of the active-user window. */
  admitRateChanged(change: AdmitRateChangeEvent): void;
  observe(sources: MetricSources): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const POOL_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
const PRESSURE_LEVELS = ['ok', 'shed', 'critical'] as const;

/** Several gauges read one source per scrape; the source is asked once and shared for a moment. */
function sharedRead<T>(read: () => MaybePromise<T>, ttlMs = 250): () => Promise<T | undefined> {
  let cached: { at: number; value: Promise<T | undefined> } | undefined;
  return () => {
    const now = performance.now();
    if (cached && now - cached.at < ttlMs) return cached.value;
    const value = Promise.resolve()
      .then(read)
      .catch(() => undefined);
    cached = { at: now, value };
    return value;
  };
}

/** Owns its own Registry, so tests and several apps in one process do not collide. */
export function createMetrics(opts: { prefix?: string; defaultMetrics?: boolean } = {}): Metrics {
  const prefix = opts.prefix ?? 'ticketrush_';
  const registry = new Registry();
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
    // These list every open handle, one per connection, twice per scrape on the event loop (a stall that grows
    // with the crowd); nodejs_active_resources counts the same by type from a list of names, several times cheaper.
    for (const name of ['nodejs_active_handles', 'nodejs_active_handles_total'])
      registry.removeSingleMetric(name);
  }
  const sources: MetricSources = {};

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });

  const pool = sharedRead(() => sources.pool?.());
  const poolGauge = (field: keyof PoolStats, help: string) =>
    new Gauge({
      name: `${prefix}db_pool_${field === 'inUse' ? 'in_use' : field}`,
      help,
      registers: [registry],
      async collect() {
        const stats = await pool();
        if (stats) this.set(stats[field]);
      },
    });
  poolGauge('size', 'Open database connections');
  poolGauge('inUse', 'Database connections checked out');
  poolGauge('waiting', 'Requests waiting for a database connection');
  const poolWait = new Histogram({
    name: `${prefix}db_pool_wait_seconds`,
    help: 'Time a checkout waited for a pooled database connection, by class (payment, hold, top-up, catalog)',
    labelNames: ['class'] as const,
    buckets: POOL_WAIT_BUCKETS,
    registers: [registry],
  });
  const acquireQueue = sharedRead(() => sources.acquireQueue?.());
  new Gauge({
    name: `${prefix}db_pool_sojourn_seconds`,
    help: 'How long the oldest checkout of each class has waited for a connection so far (0 when none waits)',
    labelNames: ['class'] as const,
    registers: [registry],
    async collect() {
      const stats = await acquireQueue();
      if (!stats) return;
      for (const cls of ACQUIRE_CLASSES) this.set({ class: cls }, stats.classes[cls].sojournMs / 1000);
    },
  });
  new Gauge({
    name: `${prefix}db_pool_standing`,
    help: 'Per class, 1 while its connection waits have stood above the target for a whole interval (CoDel)',
    labelNames: ['class'] as const,
    registers: [registry],
    async collect() {
      const stats = await acquireQueue();
      if (!stats) return;
      for (const cls of ACQUIRE_CLASSES) this.set({ class: cls }, stats.classes[cls].standing ? 1 : 0);
    },
  });

  const queue = sharedRead(() => sources.queue?.());
  const queueGauge = (field: 'waiting' | 'active', help: string) =>
    new Gauge({
      name: `${prefix}queue_${field}`,
      help,
      registers: [registry],
      async collect() {
        const stats = await queue();
        if (stats) this.set(stats[field]);
      },
    });
  queueGauge('waiting', 'Users waiting in the waiting room');
  queueGauge('active', 'Users admitted and active');
  // The store keeps the totals (shared across processes with Redis); the counter mirrors them.
  const queueTotal = (name: string, field: 'admittedTotal' | 'evictedTotal' | 'expiredTotal', help: string) =>
    new Counter({
      name: `${prefix}queue_${name}_total`,
      help,
      registers: [registry],
      async collect() {
        const stats = await queue();
        if (!stats) return;
        this.reset();
        this.inc(stats[field]);
      },
    });
  queueTotal('admissions', 'admittedTotal', 'Users admitted from the waiting room');

  const sales = sharedRead(() => sources.sales?.());
  for (const [field, help] of SALE_SERIES)
    new Gauge({
      name: `${prefix}sale_${snakeCase(field)}`,
      help: `${help}; label sale: a sale id, or other for sales beyond the most recent open ones`,
      labelNames: ['sale'] as const,
      registers: [registry],
      async collect() {
        const series = await sales();
        if (!series) return;
        this.reset();
        for (const { sale, counters } of series) this.set({ sale }, counters[field]);
      },
    });
  queueTotal('evictions', 'evictedTotal', 'Waiting users dropped for not polling');
  queueTotal('expiries', 'expiredTotal', 'Admitted users whose active time ran out');

  new Gauge({
    name: `${prefix}admit_rate_per_second`,
    help: 'Current waiting-room admission rate',
    registers: [registry],
    collect() {
      const rate = sources.admitRate?.();
      if (typeof rate === 'number') this.set(rate);
    },
  });
  const admitRateChanges = new Counter({
    name: `${prefix}admit_rate_changes_total`,
    help: 'Admission rate changes by direction and the signal that caused them',
    labelNames: ['direction', 'signal'] as const,
    registers: [registry],
  });
  new Gauge({
    name: `${prefix}eta_prior_session_seconds`,
    help:
      "How long an admitted user is assumed to hold a slot in a sale's first ETAs, before it has measured its own: " +
      'the session the last sale measured, else TR_EXPECTED_SESSION_SECONDS; 0 while neither is known (places that ' +
      'wait on departures are then told no ETA until the sale has measured its own)',
    registers: [registry],
    collect() {
      const ms = sources.etaPriorSessionMs?.();
      this.set(typeof ms === 'number' ? ms / 1000 : 0);
    },
  });
  new Gauge({
    name: `${prefix}admit_window`,
    help: 'Current active-user window: most users admitted at once',
    registers: [registry],
    collect() {
      const window = sources.admitWindow?.();
      if (typeof window === 'number') this.set(window);
    },
  });
  const admitWindowChanges = new Counter({
    name: `${prefix}admit_window_changes_total`,
    help: 'Active-user window changes by direction and the signal that caused them',
    labelNames: ['direction', 'signal'] as const,
    registers: [registry],
  });

  const bookings = new Counter({
    name: `${prefix}booking_outcomes_total`,
    help: 'Seat holds and payments by outcome',
    labelNames: ['step', 'outcome'] as const,
    registers: [registry],
  });

  const outbox = sharedRead(() => sources.outbox?.());
  new Gauge({
    name: `${prefix}outbox_backlog`,
    help: 'Outbox events not yet published',
    registers: [registry],
    async collect() {
      const stats = await outbox();
      if (stats) this.set(stats.backlog);
    },
  });
  new Gauge({
    name: `${prefix}outbox_lag_seconds`,
    help: 'Age of the oldest unpublished outbox event',
    registers: [registry],
    async collect() {
      const stats = await outbox();
      if (stats) this.set(stats.lagMs / 1000);
    },
  });

  new Gauge({
    name: `${prefix}overload_level`,
    help: 'Overload guard state: 1 for the current level (ok, shed, critical)',
    labelNames: ['level'] as const,
    registers: [registry],
    collect() {
      const state = sources.pressure?.();
      if (!state) return;
      for (const level of PRESSURE_LEVELS) this.set({ level }, state.level === level ? 1 : 0);
    },
  });
  new Gauge({
    name: `${prefix}overload_event_loop_delay_seconds`,
    help: 'Event-loop delay as the overload guard last sampled it',
    registers: [registry],
    collect() {
      const state = sources.pressure?.();
      if (state) this.set(state.eventLoopDelayMs / 1000);
    },
  });
  const shedTotal = new Counter({
    name: `${prefix}overload_shed_total`,
    help: 'Requests answered 503 OVERLOADED by the overload guard, by class (payment, hold, top-up, catalog, waiting-room, other) and reason (process, standing, budget)',
    labelNames: ['class', 'reason'] as const,
    registers: [registry],
  });

  // The transaction runner keeps the counts; the counters mirror them at scrape time.
  const retryTotal = (name: string, field: keyof RetryStats, help: string) =>
    new Counter({
      name: `${prefix}db_transaction_${name}_total`,
      help,
      registers: [registry],
      collect() {
        const stats = sources.transactionRetries?.();
        if (!stats) return;
        this.reset();
        this.inc(stats[field]);
      },
    });
  retryTotal('retries', 'retries', 'Transactions retried after a deadlock or serialization failure');
  retryTotal(
    'retries_exhausted',
    'exhausted',
    'Transactions that still conflicted after the last retry (answered 503 CONFLICT_RETRY_EXHAUSTED)',
  );

  const requestSeries = new Map<
    string,
    { duration: ReturnType<typeof httpDuration.labels>; count: ReturnType<typeof httpRequests.labels> }
  >();
  return {
    registry,
    contentType: registry.contentType,
    observeRequest(method, route, status, seconds) {
      // The label children are looked up once per (method, route, status): prom-client would otherwise
      // hash the label object on every request of the hot path.
      const id = `${method} ${route} ${status}`;
      let series = requestSeries.get(id);
      if (!series) {
        const labels = { method, route, status: String(status) };
        series = { duration: httpDuration.labels(labels), count: httpRequests.labels(labels) };
        requestSeries.set(id, series);
      }
      series.duration.observe(seconds);
      series.count.inc();
    },
    bookingOutcome: (step, outcome) => bookings.inc({ step, outcome }),
    poolWait: (seconds, cls) => (cls ? poolWait.observe({ class: cls }, seconds) : poolWait.observe(seconds)),
    shed: (target, reason) => shedTotal.inc({ class: target, reason }),
    admitRateChanged: ({ knob, from, to, signal }) =>
      (knob === 'window' ? admitWindowChanges : admitRateChanges).inc({
        direction: to > from ? 'up' : 'down',
        signal,
      }),
    observe(more) {
      Object.assign(sources, more);
    },
    render: () => registry.metrics(),
  };
}
