import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { renderCompare } from './compare.ts';
import { renderConsole } from './report-console.ts';
import { renderHtml } from './report-html.ts';
import type { LoadResult } from './result.ts';
import { runLoad } from './runner.ts';
import { SCENARIOS, type ScenarioChoice } from './scenarios.ts';
import { PROFILES, type Profile, parseDuration, parseStages, totalDurationMs } from './stages.ts';
import { checkTarget } from './target.ts';
import { evaluateThresholds, parseThreshold, type Threshold } from './thresholds.ts';
import { EXECUTORS, type ExecutorName } from './worker-plan.ts';

const HELP = `ticketrush loadtest: replay the seed's load scenarios

Usage: ticketrush loadtest [options]

  --scenario NAME        ${[...SCENARIOS, 'mixed'].join(' | ')} (default mixed);
                         ping: GET / only, to measure the generator's own capacity
  --profile NAME         ${Object.keys(PROFILES).join(' | ')} (default quick); levels are VUs, or flows/s
                         with --executor ramping-arrival-rate
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

const positiveNumber = (name: string, text: string | undefined, fallback: number, min = 0): number => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min)
    throw new Error(`--${name} must be a number >= ${min}, got '${text}'`);
  return value;
};

async function writeOutputs(result: LoadResult, out: string | undefined, html: string | undefined) {
  const written: string[] = [];
  if (out) {
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(result, null, 1));
    written.push(out);
  }
  if (html) {
    await mkdir(dirname(html), { recursive: true });
    await writeFile(html, renderHtml(result));
    written.push(html);
  }
  return written;
}

function exitCodeOf(result: LoadResult): number {
  return result.thresholds.some((t) => !t.ok) ? 1 : 0;
}

async function hasMetrics(url: string): Promise<boolean> {
  try {
    const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** `ticketrush loadtest`: runs a scenario, prints the table, writes JSON and HTML; 1 when a threshold failed. */
export async function loadtestCommand(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  const parse = (args: string[]) =>
    parseArgs({
      args,
      allowPositionals: false,
      options: {
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
        threshold: { type: 'string', multiple: true, default: [] },
        duration: { type: 'string' },
        'max-requests': { type: 'string' },
        'max-vus': { type: 'string' },
        timeout: { type: 'string' },
        'graceful-stop': { type: 'string' },
        'race-schedules': { type: 'string' },
        'payment-schedules': { type: 'string' },
        'max-polls': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  let scenario: ScenarioChoice;
  let executor: ExecutorName;
  let profile: Profile;
  let profileName: string;
  let thresholds: Threshold[];
  let workers: number;
  let durationCapMs: number;
  try {
    values = parse(argv).values;
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (![...SCENARIOS, 'mixed', 'ping'].includes(values.scenario)) {
      throw new Error(`--scenario must be one of ${[...SCENARIOS, 'mixed'].join(', ')}`);
    }
    scenario = values.scenario as ScenarioChoice;
    if (!(EXECUTORS as readonly string[]).includes(values.executor)) {
      throw new Error(`--executor must be one of ${EXECUTORS.join(', ')}`);
    }
    executor = values.executor as ExecutorName;
    if (values.stages && values.profile) throw new Error('give --profile or --stages, not both');
    if (values.stages) {
      profile = parseStages(values.stages);
      profileName = 'custom';
    } else {
      profileName = values.profile ?? 'quick';
      const known = PROFILES[profileName];
      if (!known) throw new Error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
      profile = known;
    }
    thresholds = values.threshold.map(parseThreshold);
    workers = Math.floor(positiveNumber('workers', values.workers, Math.max(1, availableParallelism() - 1)));
    durationCapMs = values.duration ? parseDuration(values.duration) : totalDurationMs(profile) + 120_000;
    if (values.target) {
      const refusal = checkTarget(values.target, values['allow-remote']);
      if (refusal) throw new Error(refusal);
    }
  } catch (err) {
    console.error(`ticketrush loadtest: ${(err as Error).message}`);
    return 2;
  }

  let target = values.target?.replace(/\/+$/, '');
  let server: { url: string; close(): Promise<void> } | undefined;
  let serverMetricsUrl = values['server-metrics'];
  if (!target) {
    try {
      const { startServer } = await import('../main.ts');
      // Quiet by default: the server's info logs would bury the progress line and the table.
      server = await startServer({
        port: 0,
        env: { HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      });
    } catch (err) {
      console.error(`ticketrush loadtest: could not start the embedded server: ${(err as Error).message}`);
      return 2;
    }
    target = server.url;
    if (!serverMetricsUrl && (await hasMetrics(`${target}/metrics`))) serverMetricsUrl = `${target}/metrics`;
    console.error(`started embedded ticketrush at ${target}`);
  }
  const live = !values.quiet;
  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  try {
    const result = await runLoad({
      target,
      embedded: server !== undefined,
      scenario,
      executor,
      profile,
      profileName,
      workers,
      flow: {
        thinkScale: positiveNumber('think-scale', values['think-scale'], 1),
        honorPollHint: values['honor-poll-hint'],
        maxPolls: Math.floor(positiveNumber('max-polls', values['max-polls'], 600, 1)),
        raceSchedules: Math.floor(positiveNumber('race-schedules', values['race-schedules'], 5, 1)),
        paymentSchedules: Math.floor(
          positiveNumber('payment-schedules', values['payment-schedules'], 99_999, 1),
        ),
      },
      timeoutMs: values.timeout ? parseDuration(values.timeout) : 60_000,
      gracefulStopMs: values['graceful-stop'] ? parseDuration(values['graceful-stop']) : 30_000,
      durationCapMs,
      maxRequests: Math.floor(positiveNumber('max-requests', values['max-requests'], 10_000_000, 1)),
      maxVus: Math.floor(positiveNumber('max-vus', values['max-vus'], 5000, 1)),
      serverMetricsUrl,
      progress: live
        ? (line) => {
            if (tty) process.stderr.write(`\r\x1b[K${line}`);
            else if (Date.now() - lastPrinted >= 10_000) {
              lastPrinted = Date.now();
              process.stderr.write(`${line}\n`);
            }
          }
        : undefined,
    });
    if (live && tty) process.stderr.write('\n');
    result.thresholds = evaluateThresholds(thresholds, result);
    const stamp = result.startedAt.replace(/[:.]/g, '-');
    const out = values.out ?? `loadtest-results/${scenario}-${stamp}.json`;
    const html = values.html ?? out.replace(/\.json$/, '') + '.html';
    console.log(renderConsole(result));
    const written = await writeOutputs(result, out, html);
    console.log(`\nwrote ${written.join(', ')}`);
    return exitCodeOf(result);
  } finally {
    await server?.close();
  }
}

async function readResult(path: string): Promise<LoadResult> {
  const result = JSON.parse(await readFile(path, 'utf8')) as LoadResult;
  if (result?.version !== 1 || !Array.isArray(result.endpoints))
    throw new Error(`${path} is not a loadtest result`);
  return result;
}

/** `ticketrush report result.json [--html out.html] [--threshold EXPR]`: re-renders a stored result. */
export async function reportCommand(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { html: { type: 'string' }, threshold: { type: 'string', multiple: true, default: [] } },
    });
    if (positionals.length !== 1) throw new Error('usage: ticketrush report <result.json> [--html out.html]');
    const result = await readResult(positionals[0]);
    if (values.threshold.length)
      result.thresholds = evaluateThresholds(values.threshold.map(parseThreshold), result);
    console.log(renderConsole(result));
    const html = values.html ?? positionals[0].replace(/\.json$/, '') + '.html';
    await writeOutputs(result, undefined, html);
    console.log(`\nwrote ${html}`);
    return exitCodeOf(result);
  } catch (err) {
    console.error(`ticketrush report: ${(err as Error).message}`);
    return 2;
  }
}

/** `ticketrush compare a.json b.json`: per-endpoint differences from a to b. */
export async function compareCommand(argv: string[]): Promise<number> {
  try {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length !== 2) throw new Error('usage: ticketrush compare <a.json> <b.json>');
    const [a, b] = await Promise.all(positionals.map(readResult));
    console.log(renderCompare(a, b, positionals[0], positionals[1]));
    return 0;
  } catch (err) {
    console.error(`ticketrush compare: ${(err as Error).message}`);
    return 2;
  }
}
