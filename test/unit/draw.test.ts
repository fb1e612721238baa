import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import {
  drawCommitment,
  drawOrder,
  drawOrderInSteps,
  newDrawSeed,
  verifyDraw,
} from '../../src/domain/sales/draw.ts';

const SEED = 'a'.repeat(64);

/** The published definition, word for word: what anyone verifying the draw would write. */
function specOrder(seed: string, entrants: number[]): number[] {
  const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
  const list = [...new Set(entrants)].sort((a, b) => a - b);
  const digest = sha(list.join('\n'));
  const tickets = list.map((userId) => ({ userId, ticket: sha(`${seed}:${digest}:${userId}`) }));
  tickets.sort((a, b) => (a.ticket < b.ticket ? -1 : a.ticket > b.ticket ? 1 : a.userId - b.userId));
  return tickets.map((t) => t.userId);
}

describe('verifiable draw', () => {
  test('the commitment is the sha256 of the seed text', () => {
    assert.equal(drawCommitment(SEED), createHash('sha256').update(SEED).digest('hex'));
    assert.throws(() => drawCommitment('not-hex'), RangeError);
    assert.match(newDrawSeed(), /^[0-9a-f]{64}$/);
  });

  test('the same seed and entrants give the same order, whatever order the entrants are listed in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 2, maxLength: 200 }),
        (ids) => {
          const order = drawOrder(SEED, ids);
          assert.deepEqual(drawOrder(SEED, [...ids].reverse()), order);
          assert.deepEqual(
            [...order].sort((a, b) => a - b),
            [...ids].sort((a, b) => a - b),
          );
        },
      ),
    );
  });

  test('the order computed in steps is the published definition, duplicates and all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 2_000_000_000 }), { maxLength: 300 }),
        async (ids) => {
          const spec = specOrder(SEED, ids);
          assert.deepEqual(drawOrder(SEED, ids), spec);
          assert.deepEqual(await drawOrderInSteps(SEED, ids), spec);
        },
      ),
    );
    // Past one sorting run (32,768) and one step (4,096): the merges and the steps between them.
    const many = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 1_000_003);
    assert.deepEqual(await drawOrderInSteps(SEED, many), specOrder(SEED, many));
  });

  test('a different seed or entrant list gives a different order', () => {
    const ids = Array.from({ length: 50 }, (_, i) => i + 1);
    const order = drawOrder(SEED, ids);
    assert.notDeepEqual(drawOrder('b'.repeat(64), ids), order);
    // One more entrant reorders the others too: every ticket depends on the whole list.
    const others = drawOrder(SEED, [...ids, 51]).filter((id) => id !== 51);
    assert.notDeepEqual(others, order);
  });

  test('verifyDraw accepts the real draw and names what is wrong with a tampered one', () => {
    const entrants = [5, 3, 9, 12, 40];
    const published = {
      commitment: drawCommitment(SEED),
      seed: SEED,
      entrants,
      order: drawOrder(SEED, entrants),
    };
    assert.deepEqual(verifyDraw(published), { ok: true });
    const swapped = [...published.order];
    [swapped[0], swapped[1]] = [swapped[1] as number, swapped[0] as number];
    const check = verifyDraw({ ...published, order: swapped });
    assert.equal(check.ok, false);
    assert.match(check.ok ? '' : check.reason, /^place 1 should be user/);
    assert.equal(verifyDraw({ ...published, seed: 'b'.repeat(64) }).ok, false);
  });

  test('ticketrush verify-draw checks a saved draw and exits 1 on a mismatch', async () => {
    const run = promisify(execFile);
    const dir = await mkdtemp(join(tmpdir(), 'draw-'));
    const entrants = [1, 2, 3, 4, 5, 6];
    const good = { commitment: drawCommitment(SEED), seed: SEED, entrants, order: drawOrder(SEED, entrants) };
    await writeFile(join(dir, 'good.json'), JSON.stringify(good));
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...good, order: [...good.order].reverse() }));
    const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
    const ok = await run(process.execPath, [cli, 'verify-draw', join(dir, 'good.json')]);
    assert.match(ok.stdout, /verify-draw: OK/);
    await assert.rejects(
      run(process.execPath, [cli, 'verify-draw', join(dir, 'bad.json')]),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, /MISMATCH/);
        return true;
      },
    );
  });
});
