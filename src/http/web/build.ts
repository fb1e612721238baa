import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** web/ at the repository root: sources in web/src, builds in web/dist/<content hash>/ (git-ignored). */
export const WEB_ROOT = join(import.meta.dirname, '..', '..', '..', 'web');

/** The pages' scripts and styles, by the name the HTML asks for. */
const ENTRIES = ['pages/home.ts', 'pages/wait.ts', 'pages/book.ts', 'pages/me.ts', 'pages/admin.ts'];
const STYLES = ['styles/fan.css', 'styles/admin.css'];

export interface WebBuild {
  /** Content hash of the sources this build came from. */
  id: string;
  assetsDir: string;
  /** Entry name (wait, fan.css...) to its URL under /assets/, content-hashed. */
  urls: Record<string, string>;
}

let current: Promise<WebBuild> | undefined;

/**
 * Builds web/src with esbuild unless a build of the same sources exists; once per process.
 * Each build lands in its own folder named by the sources' hash, written aside and renamed into place,
 * so processes starting together never see half a build.
 */
export function ensureWebBuild(): Promise<WebBuild> {
  current ??= buildIfMissing().catch((err) => {
    current = undefined;
    throw err;
  });
  return current;
}

async function buildIfMissing(): Promise<WebBuild> {
  const id = await sourceHash();
  const dist = join(WEB_ROOT, 'dist');
  const dir = join(dist, id);
  const existing = await readManifest(dir);
  if (existing) return existing;

  const { build, version } = await import('esbuild');
  const tmp = join(dist, `.tmp-${process.pid}-${Date.now()}`);
  const assetsDir = join(tmp, 'assets');
  await mkdir(assetsDir, { recursive: true });
  const result = await build({
    absWorkingDir: join(WEB_ROOT, 'src'),
    entryPoints: [...ENTRIES, ...STYLES],
    outdir: assetsDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const urls: Record<string, string> = {};
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const file = basename(out);
    const entry = basename(meta.entryPoint).replace(/\.ts$/, '');
    urls[entry] = `/assets/${file}`;
    const body = await readFile(join(WEB_ROOT, 'src', out));
    // Compressed once here: @fastify/static sends the .br or .gz beside the file, nothing per request.
    await writeFile(
      join(assetsDir, `${file}.br`),
      brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    );
    await writeFile(join(assetsDir, `${file}.gz`), gzipSync(body, { level: 9 }));
  }
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify({ id, esbuild: version, urls }, null, 2));
  try {
    await rename(tmp, dir);
  } catch {
    await rm(tmp, { recursive: true, force: true }); // another process finished the same build first
  }
  await pruneOldBuilds(dist, id);
  const built = await readManifest(dir);
  if (!built) throw new Error(`web build ${id} is missing its manifest`);
  return built;
}

async function readManifest(dir: string): Promise<WebBuild | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as WebBuild;
    return { id: m.id, urls: m.urls, assetsDir: join(dir, 'assets') };
  } catch {
    return undefined;
  }
}

/** Hash of every source file's path and content: the same sources give the same build folder. */
async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const src = join(WEB_ROOT, 'src');
  for (const file of (await listFiles(src)).sort()) {
    hash.update(relative(src, file));
    hash.update(await readFile(file));
  }
  // The error catalog's type comes from the server's codes; the bundle options are in this file.
  hash.update(await readFile(import.meta.filename));
  return hash.digest('hex').slice(0, 16);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}

/** Builds other than this one, older than a day, go: a running process may still serve a recent one. */
async function pruneOldBuilds(dist: string, keep: string): Promise<void> {
  const dayAgo = Date.now() - 86_400_000;
  for (const name of await readdir(dist).catch(() => [] as string[])) {
    if (name === keep) continue;
    const path = join(dist, name);
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < dayAgo) await rm(path, { recursive: true, force: true });
  }
}
