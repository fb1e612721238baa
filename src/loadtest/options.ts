import { availableParallelism } from 'node:os';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { type FlowOptions, SCENARIOS, type ScenarioChoice } from './scenarios.ts';
import { PROFILES, type Profile, parseDuration, parseStages, totalDurationMs } from './stages.ts';
import { checkTarget } from './target.ts';
import { parseThreshold, type Threshold } from './thresholds.ts';
import { EXECUTORS, type ExecutorName, type OnsalePlan } from './worker-plan.ts';

export const LOADTEST_HELP = `ticketrush loadtest: replay the seed's load scenarios

Usage: ticketrush loadtest [options]

  --scenario NAME        ${[...SCENARIOS, 'mixed'].join(' | ')} (default mixed);
                         ping: GET / only, to measure the generator's own capacity
  --profile NAME         ${Object.keys(PROFILES).join(' | ')} | onsale (default quick); levels are VUs, or
                         flows/s with --executor ramping-arrival-rate
                         onsale: --users distinct users (ids 1..N) join evenly within --join-within, wait
                         at pollAfterMs, and every admitted user buys a seat (open model; own flow)
  --users N              onsale: the crowd (default 100,000)
  --join-within D        onsale: window in which every user joins (default 60s)
  --sale-seats N         onsale: seats on sale, the first N / --seats-per-schedule schedules (default 10,000)
  --seats-per-schedule N onsale: seats of one schedule on the target (default 100, the demo catalog)
  --first-schedule N     onsale: the sale's schedules start at N instead of 1 (a second run on the same
                         target sells schedules the first did not)
  --connections N        onsale: connections to the target over all workers (default 512)
  --leave                onsale: fans who give up without a seat (sold out, seats lost) leave the line
                         with DELETE /api/users/:userId/token, freeing their slot at once
  --idempotency-keys     onsale: holds, top-ups and payments carry an Idempotency-Key, as the web checkout's
                         do (a fresh key per step, the same key when a step is retried)
  --sale-opens-in D      onsale: create a sale of those schedules through the admin API, opening D after
                         its creation: fans join it (/api/sales/:saleId/...), pre-queue until the
                         opening and are ordered by the draw; the operator key is --admin-key or
                         TR_ADMIN_BOOTSTRAP_KEY (the embedded server gets a fresh one)
  --admin-key KEY        operator key for --sale-opens-in against a --target
  --stages LIST          instead of a profile: '30s:100,1m:500,10s:0' (duration:target)
  --executor NAME        ramping-vus (closed model, default) | ramping-arrival-rate (open model)
  --target URL           server with the seed's API (default: start ticketrush embedded)
  --allow-remote         allow a non-loopback target
  --workers N            worker threads generating load (default: cores - 1, at least 1)
  --think-scale X        multiply the seed's think times (default 1; 0.1 = ten times faster users)
  --honor-poll-hint      poll the queue at pollAfterMs instead of every second
  --out FILE             JSON result (default loadtest-results/<scenario>-<time>.json)
  --html FILE            HTML report (default: beside the JSON result)
  --server-metrics URL   Prometheus endpoint scraped each second (embedded: its /metrics)
  --threshold EXPR       e.g. 'http_p99<200' 'failures<0.1%' 'tps>=400' 'http_p95{POST /api/reservations}<500';
                         repeatable; any crossed threshold makes the exit code 1
  --duration D           hard cap on the run (e.g. 90s)
  --max-requests N       stop after about N requests (default 10,000,000)
  --max-vus N            open model: bound on concurrent flows (default 5000)
  --timeout D            per-request timeout (default 60s)
  --graceful-stop D      time VUs get to finish their flow at the end (default 30s)
  --race-schedules N     schedules 1..N raced for in 'reservation' (default 5, as the seed)
  --payment-schedules N  schedules 1..N picked in 'payment' (default 99999, as the seed)
  --quiet                no live progress line
`;

const FLAGS = {
  scenario: { type: 'string', default: 'mixed' },
  profile: { type: 'string' },
  stages: { type: 'string' },
  executor: { type: 'string', default: 'ramping-vus' },
  target: { type: 'string' },
  'allow-remote': { type: 'boolean', default: false },
  workers: { type: 'string' },
  'think-scale': { type: 'string' },
  'honor-poll-hint': { type: 'boolean', default: false },
  out: { type: 'string' },
  html: { type: 'string' },
  'server-metrics': { type: 'string' },
  threshold: { type: 'string', multiple: true, default: [] as string[] },
  duration: { type: 'string' },
  'max-requests': { type: 'string' },
  'max-vus': { type: 'string' },
  timeout: { type: 'string' },
  'graceful-stop': { type: 'string' },
  'race-schedules': { type: 'string' },
  'payment-schedules': { type: 'string' },
  'max-polls': { type: 'string' },
  users: { type: 'string' },
  'join-within': { type: 'string' },
  'sale-seats': { type: 'string' },
  'seats-per-schedule': { type: 'string' },
  'first-schedule': { type: 'string' },
  connections: { type: 'string' },
  leave: { type: 'boolean', default: false },
  'idempotency-keys': { type: 'boolean', default: false },
  'sale-opens-in': { type: 'string' },
  'admin-key': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

type Flags = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];

/** A `ticketrush loadtest` command line, validated: what to run, against what, and where to write. */
export interface LoadtestOptions {
  scenario: ScenarioChoice;
  executor: ExecutorName;
  profile: Profile;
  profileName: string;
  thresholds: Threshold[];
  workers: number;
  durationCapMs: number;
  /** Without a trailing slash; absent: start the embedded server. */
  target?: string;
  serverMetricsUrl?: string;
  flow: FlowOptions;
  onsale?: OnsalePlan;
  timeoutMs: number;
  gracefulStopMs: number;
  maxRequests: number;
  maxVus: number;
  out?: string;
  html?: string;
  quiet: boolean;
  /** --sale-opens-in against a --target: the operator key (--admin-key or TR_ADMIN_BOOTSTRAP_KEY). */
  adminKey?: string;
}

/** The options of `argv`, or 'help'; throws a one-line message naming the flag at fault. */
export function parseLoadtestArgs(argv: string[]): LoadtestOptions | 'help' {
  const values = parseArgs({ args: argv, allowPositionals: false, options: FLAGS }).values;
  if (values.help) return 'help';
  if (![...SCENARIOS, 'mixed', 'ping'].includes(values.scenario)) {
    throw new Error(`--scenario must be one of ${[...SCENARIOS, 'mixed'].join(', ')}`);
  }
  if (!(EXECUTORS as readonly string[]).includes(values.executor)) {
    throw new Error(`--executor must be one of ${EXECUTORS.join(', ')}`);
  }
  const { profile, profileName } = readProfile(values);
  const thresholds = values.threshold.map(parseThreshold);
  const workers = Math.floor(
    positiveNumber('workers', values.workers, Math.max(1, availableParallelism() - 1)),
  );
  const durationCapMs = values.duration ? parseDuration(values.duration) : totalDurationMs(profile) + 120_000;
  if (values.target) {
    const refusal = checkTarget(values.target, values['allow-remote']);
    if (refusal) throw new Error(refusal);
  }
  const options: LoadtestOptions = {
    scenario: values.scenario as ScenarioChoice,
    executor: values.executor as ExecutorName,
    profile,
    profileName,
    thresholds,
    workers,
    durationCapMs,
    target: values.target?.replace(/\/+$/, ''),
    serverMetricsUrl: values['server-metrics'],
    flow: readFlow(values),
    timeoutMs: values.timeout ? parseDuration(values.timeout) : 60_000,
    gracefulStopMs: values['graceful-stop'] ? parseDuration(values['graceful-stop']) : 30_000,
    maxRequests: Math.floor(positiveNumber('max-requests', values['max-requests'], 10_000_000, 1)),
    maxVus: Math.floor(positiveNumber('max-vus', values['max-vus'], 5000, 1)),
    out: values.out,
    html: values.html,
    quiet: values.quiet,
  };
  return profileName === 'onsale' ? asOnsale(options, values) : options;
}

const MINUTE = 60_000;

/** The on-sale crowd and its sale, from --users, --join-within, --sale-seats, --seats-per-schedule. */
function readOnsale(values: Flags): OnsalePlan {
  const users = Math.floor(positiveNumber('users', values.users, 100_000, 1));
  const joinMs = values['join-within'] ? parseDuration(values['join-within']) : MINUTE;
  if (joinMs < 1) throw new Error('--join-within must be a positive duration');
  const seatsPerSchedule = Math.floor(
    positiveNumber('seats-per-schedule', values['seats-per-schedule'], 100, 1),
  );
  const saleSeats = Math.floor(positiveNumber('sale-seats', values['sale-seats'], 10_000, 1));
  return {
    users,
    joinMs,
    saleSchedules: Math.max(1, Math.ceil(saleSeats / seatsPerSchedule)),
    firstSchedule: Math.floor(positiveNumber('first-schedule', values['first-schedule'], 1, 1)),
    seatsPerSchedule,
    connections: Math.floor(positiveNumber('connections', values.connections, 512, 1)),
    leave: values.leave,
    idempotencyKeys: values['idempotency-keys'],
    ...(values['sale-opens-in'] ? { saleOpensInMs: parseDuration(values['sale-opens-in']) } : {}),
  };
}

/** `--profile onsale`: its own flow in the open model, and a run that lasts until the last user is done. */
function asOnsale(options: LoadtestOptions, values: Flags): LoadtestOptions {
  const onsale = readOnsale(values);
  // Admitting a big crowd outlasts its joining by far: the drain waits for the last user.
  const gracefulStopMs = values['graceful-stop'] ? options.gracefulStopMs : 30 * MINUTE;
  return {
    ...options,
    scenario: 'onsale',
    executor: 'ramping-arrival-rate',
    gracefulStopMs,
    durationCapMs: values.duration ? options.durationCapMs : onsale.joinMs + gracefulStopMs + 2 * MINUTE,
    maxVus: onsale.users,
    flow: {
      ...options.flow,
      honorPollHint: true,
      maxPolls: values['max-polls'] ? options.flow.maxPolls : 10_000,
    },
    onsale,
    adminKey: values['admin-key'] ?? (process.env.TR_ADMIN_BOOTSTRAP_KEY || undefined),
  };
}

function readProfile(values: Flags): { profile: Profile; profileName: string } {
  if (values.stages && values.profile) throw new Error('give --profile or --stages, not both');
  if (values.stages) return { profile: parseStages(values.stages), profileName: 'custom' };
  const profileName = values.profile ?? 'quick';
  if (profileName === 'onsale') {
    const { users, joinMs } = readOnsale(values);
    const rate = users / (joinMs / 1000);
    return { profile: { start: rate, stages: [{ durationMs: joinMs, target: rate }] }, profileName };
  }
  const profile = PROFILES[profileName];
  if (!profile) throw new Error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  return { profile, profileName };
}

function readFlow(values: Flags): FlowOptions {
  return {
    thinkScale: positiveNumber('think-scale', values['think-scale'], 1),
    honorPollHint: values['honor-poll-hint'],
    maxPolls: Math.floor(positiveNumber('max-polls', values['max-polls'], 600, 1)),
    raceSchedules: Math.floor(positiveNumber('race-schedules', values['race-schedules'], 5, 1)),
    paymentSchedules: Math.floor(positiveNumber('payment-schedules', values['payment-schedules'], 99_999, 1)),
  };
}

function positiveNumber(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min)
    throw new Error(`--${name} must be a number >= ${min}, got '${text}'`);
  return value;
}
