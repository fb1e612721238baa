import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { renderCompare } from './compare.ts';
import { type EmbeddedServer, startEmbeddedServer } from './embedded-server.ts';
import { createOnsaleSale, newOperatorKey } from './onsale-sale.ts';
import { LOADTEST_HELP, type LoadtestOptions, parseLoadtestArgs } from './options.ts';
import { renderConsole } from './report-console.ts';
import { renderHtml } from './report-html.ts';
import type { LoadResult } from './result.ts';
import { type RunOptions, runLoad } from './runner.ts';
import { evaluateThresholds, parseThreshold } from './thresholds.ts';

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
  let options: LoadtestOptions | 'help';
  try {
    options = parseLoadtestArgs(argv);
  } catch (err) {
    console.error(`ticketrush loadtest: ${(err as Error).message}`);
    return 2;
  }
  if (options === 'help') {
    console.log(LOADTEST_HELP);
    return 0;
  }
  let server: EmbeddedServer | undefined;
  const withSale = options.onsale?.saleOpensInMs !== undefined;
  if (withSale && !options.target) options.adminKey = newOperatorKey();
  if (withSale && !options.adminKey) {
    console.error('ticketrush loadtest: --sale-opens-in needs --admin-key or TR_ADMIN_BOOTSTRAP_KEY');
    return 2;
  }
  if (!options.target) {
    try {
      server = await startEmbeddedServer(
        withSale ? { TR_ADMIN_BOOTSTRAP_KEY: options.adminKey as string } : {},
      );
    } catch (err) {
      console.error(`ticketrush loadtest: could not start the embedded server: ${(err as Error).message}`);
      return 2;
    }
    console.error(`started embedded ticketrush at ${server.url}`);
  }
  try {
    if (withSale && options.onsale) {
      const target = server?.url ?? (options.target as string);
      const { saleSchedules, firstSchedule, saleOpensInMs } = options.onsale;
      try {
        options.onsale.sale = await createOnsaleSale(
          target,
          options.adminKey as string,
          { first: firstSchedule, count: saleSchedules },
          saleOpensInMs as number,
        );
      } catch (err) {
        console.error(`ticketrush loadtest: could not create the sale: ${(err as Error).message}`);
        return 2;
      }
      console.error(
        `created sale ${options.onsale.sale.saleId}, opening ${new Date(options.onsale.sale.opensAtEpochMs).toISOString()}`,
      );
    }
    const result = await runLoad(await runOptionsOf(options, server));
    return await reportRun(result, options);
  } finally {
    await server?.close();
  }
}

/** What the runner needs: the options, the target, and the embedded server's metrics unless told otherwise. */
async function runOptionsOf(
  options: LoadtestOptions,
  server: EmbeddedServer | undefined,
): Promise<RunOptions> {
  const target = server?.url ?? (options.target as string);
  let serverMetricsUrl = options.serverMetricsUrl;
  if (server && !serverMetricsUrl && (await hasMetrics(`${target}/metrics`)))
    serverMetricsUrl = `${target}/metrics`;
  return {
    target,
    embedded: server !== undefined,
    scenario: options.scenario,
    executor: options.executor,
    profile: options.profile,
    profileName: options.profileName,
    workers: options.workers,
    flow: options.flow,
    onsale: options.onsale,
    timeoutMs: options.timeoutMs,
    gracefulStopMs: options.gracefulStopMs,
    durationCapMs: options.durationCapMs,
    maxRequests: options.maxRequests,
    maxVus: options.maxVus,
    serverMetricsUrl,
    progress: options.quiet ? undefined : progressLine(),
  };
}

/** The live line: rewritten in place on a terminal, one line every 10 s in a log. */
function progressLine(): (line: string) => void {
  let lastPrinted = 0;
  return (line) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
    else if (Date.now() - lastPrinted >= 10_000) {
      lastPrinted = Date.now();
      process.stderr.write(`${line}\n`);
    }
  };
}

/** Thresholds, the console table, the JSON and HTML files; the exit code. */
async function reportRun(result: LoadResult, options: LoadtestOptions): Promise<number> {
  if (!options.quiet && process.stderr.isTTY) process.stderr.write('\n');
  result.thresholds = evaluateThresholds(options.thresholds, result);
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const out = options.out ?? `loadtest-results/${options.scenario}-${stamp}.json`;
  const html = options.html ?? out.replace(/\.json$/, '') + '.html';
  console.log(renderConsole(result));
  const written = await writeOutputs(result, out, html);
  console.log(`\nwrote ${written.join(', ')}`);
  return exitCodeOf(result);
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
