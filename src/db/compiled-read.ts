import { type Compilable, CompiledQuery } from 'kysely';
import type { Db } from './database.ts';

/** Stand-ins for the arguments while the query is built once; far from any id, count or time a query holds. */
const MARK_BASE = -7_340_032_001;

type Slot = { arg: number } | { value: unknown };

/**
 * A hot read whose SQL is built and compiled once: building a Kysely query and compiling it cost more than
 * SQLite takes to run a short one (a third of the catalog routes' CPU in the seed profile). The builder runs
 * once with marker values for the arguments; each call then binds the real values in the marked places.
 * A builder whose markers do not come back one for one as parameters (an argument used twice, computed on, or
 * turned into SQL text) is simply built on every call, as before. The builder must not branch on its arguments.
 */
export function compiledRead<Args extends number[], Row>(
  db: Db,
  build: (...args: Args) => Compilable<Row>,
): (...args: Args) => Promise<Row[]> {
  let template: { sql: string; slots: Slot[] } | null | undefined;
  return async (...args: Args): Promise<Row[]> => {
    if (template === undefined) template = compileOnce(build, args.length);
    if (template === null) return (await db.executeQuery(build(...args).compile())).rows;
    const parameters = template.slots.map((s) => ('arg' in s ? args[s.arg] : s.value));
    return (await db.executeQuery(CompiledQuery.raw(template.sql, parameters))).rows as Row[];
  };
}

function compileOnce<Args extends number[], Row>(
  build: (...args: Args) => Compilable<Row>,
  arity: number,
): { sql: string; slots: Slot[] } | null {
  const marks = Array.from({ length: arity }, (_, i) => MARK_BASE - i) as Args;
  const compiled = build(...marks).compile();
  const seen = new Array<number>(arity).fill(0);
  const slots = compiled.parameters.map((value): Slot => {
    const arg = marks.indexOf(value as number);
    if (arg < 0) return { value };
    seen[arg]++;
    return { arg };
  });
  return seen.every((n) => n === 1) ? { sql: compiled.sql, slots } : null;
}
