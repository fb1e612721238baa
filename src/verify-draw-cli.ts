import { readFile } from 'node:fs/promises';
import { type PublishedDraw, verifyDraw } from './domain/sales/draw.ts';

const USAGE = `Usage: ticketrush verify-draw <url | file.json>

Recomputes a sale's drawn order from what it published (GET /api/sales/:saleId/draw, or that answer saved to a
file): checks that sha256(seed) is the commitment published when the sale was created and that the order is the
one the seed and the entrant list give. Exit code 0 when it agrees, 1 when it does not, 2 on bad input.`;

const isIntegerList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((n) => Number.isSafeInteger(n));

/** The published draw in `body`, or why it is not one. */
export function parsePublishedDraw(body: unknown): PublishedDraw | string {
  if (typeof body !== 'object' || body === null) return 'expected a JSON object';
  const d = body as Record<string, unknown>;
  if (typeof d.commitment !== 'string') return 'no commitment in the draw';
  if (typeof d.seed !== 'string') return 'the seed is not revealed yet (the sale has not opened)';
  if (!isIntegerList(d.entrants)) return 'entrants must be a list of user ids';
  if (!isIntegerList(d.order)) return 'order must be a list of user ids';
  return { commitment: d.commitment, seed: d.seed, entrants: d.entrants, order: d.order };
}

async function load(source: string): Promise<unknown> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${source} answered ${res.status}`);
    return res.json();
  }
  return JSON.parse(await readFile(source, 'utf8'));
}

export async function verifyDrawCommand(argv: string[]): Promise<number> {
  const [source] = argv;
  if (source === undefined || source === '--help' || source === '-h' || argv.length > 1) {
    console.log(USAGE);
    return source === '--help' || source === '-h' ? 0 : 2;
  }
  let published: PublishedDraw | string;
  try {
    published = parsePublishedDraw(await load(source));
  } catch (err) {
    console.error(`verify-draw: cannot read ${source}: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (typeof published === 'string') {
    console.error(`verify-draw: ${published}`);
    return 2;
  }
  const check = verifyDraw(published);
  if (!check.ok) {
    console.error(`verify-draw: MISMATCH: ${check.reason}`);
    return 1;
  }
  console.log(
    `verify-draw: OK: sha256(seed) = ${published.commitment}; ${published.order.length} entrants in the published order`,
  );
  return 0;
}
