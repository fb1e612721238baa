/// <reference lib="dom" />
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const ROOT = join(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

/**
 * Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). With CI=true a missing browser
 * fails the suite; elsewhere the suite is skipped with this reason.
 */
export function chromiumPath(): { path?: string; reason?: string } {
  const candidates = [process.env.CHROMIUM_PATH, 'chromium', 'chromium-browser'].filter(Boolean) as string[];
  for (const name of candidates) {
    const found = spawnSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' }).stdout.trim();
    if (found) return { path: found };
  }
  const reason = 'no chromium on PATH (apt-get install -y chromium, or set CHROMIUM_PATH)';
  if (process.env.CI === 'true') throw new Error(`browser suite: ${reason}; CI must run it`);
  return { reason };
}

export async function launch(path: string): Promise<Browser> {
  return chromium.launch({
    executablePath: path,
    // Containers run as root without user namespaces: chromium's sandbox cannot start there.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export interface Server {
  url: string;
  adminKey: string;
  close(): Promise<void>;
}

/** `ticketrush serve` as a real child process on a fresh SQLite file and a free port. */
export async function startServer(env: Record<string, string>): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'tr-web-'));
  const adminKey = 'browser-suite-operator-key';
  const child = spawn(process.execPath, [join(ROOT, 'src', 'cli.ts'), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      TR_DB: `sqlite:${join(dir, 'web.db')}`,
      // One port per server: suites run side by side, and the internal port would be the same for all.
      TR_INTERNAL_PORT: 'main',
      TR_QUEUE: 'memory',
      TR_EVENTS: 'inprocess',
      TR_LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      TR_ADMIN_KEY: adminKey,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${log}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk;
      const m = /"url":"(http:\/\/[^"]+)".*ticketrush listening/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    adminKey,
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core run in the page (through the DevTools protocol, so the page's CSP stays on); all violations. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected into the page at run time
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map(
      (v: { id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> }) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')),
      }),
    );
  });
}

export const serious = (violations: AxeViolation[]) =>
  violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Bytes on the wire (headers and compressed bodies) per resource type, from the DevTools protocol. */
export async function transferMeter(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const types = new Map<string, string>();
  const bytes: Record<string, number> = {};
  const urls: string[] = [];
  cdp.on('Network.requestWillBeSent', (e) => {
    types.set(e.requestId, e.type ?? 'Other');
    urls.push(e.request.url);
  });
  cdp.on('Network.loadingFinished', (e) => {
    const type = types.get(e.requestId) ?? 'Other';
    bytes[type] = (bytes[type] ?? 0) + e.encodedDataLength;
  });
  return { bytes, urls };
}

/** Everything the page said through aria-live regions, in order. */
export async function recordLiveRegions(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const said: string[] = [];
    (window as unknown as { __said: string[] }).__said = said;
    new MutationObserver((records) => {
      for (const r of records) {
        const region = (r.target instanceof Element ? r.target : r.target.parentElement)?.closest(
          '[aria-live="polite"],[aria-live="assertive"]',
        );
        const text = region?.textContent?.trim();
        if (text && said[said.length - 1] !== text) said.push(text);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
}

export const said = (page: Page) => page.evaluate(() => (window as unknown as { __said: string[] }).__said);
