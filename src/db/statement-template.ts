import { CompiledQuery, type RawBuilder } from 'kysely';
import type { Db } from './database.ts';

/** Stands in for one value of the arguments while the statement is built once. */
class Marker {
  readonly path: readonly string[];
  constructor(path: readonly string[]) {
    this.path = path;
  }
}

type Slot = (args: object) => unknown;
interface Template {
  sql: string;
  slots: Slot[];
}

/**
 * A hot write statement whose SQL is built and compiled once per database: building and compiling a Kysely
 * statement of a hold or a payment (a CTE of four inserts) cost about as much client CPU as the driver sending it.
 * Templates are kept per dialect: the SQL text depends on nothing else.
 * The builder runs once on markers in place of the argument's values (same shape: objects of strings, numbers
 * and nulls); each call then binds the values found at the marked places. It is checked once against a build
 * on real values, and a builder that computes on its values or branches on them is simply built on every call.
 */
export function statementTemplate<A extends object>(
  build: (args: A) => RawBuilder<unknown>,
): (db: Db, args: A) => CompiledQuery {
  // By dialect (its adapter's class), so a transaction's Kysely instance finds the template of its database.
  const templates = new Map<unknown, Template | null>();
  return (db, args) => {
    const dialect = db.getExecutor().adapter.constructor;
    let template = templates.get(dialect);
    if (template === undefined) {
      template = compileOnce(db, build, args);
      templates.set(dialect, template);
    }
    if (template === null) return build(args).compile(db);
    const parameters = template.slots.map((slot) => slot(args));
    return CompiledQuery.raw(template.sql, parameters);
  };
}

function markersOf(value: unknown, path: string[]): unknown {
  if (value === null || typeof value !== 'object') return new Marker(path);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markersOf(v, [...path, k])]));
}

function valueAt(args: object, path: readonly string[]): unknown {
  let v: unknown = args;
  for (const key of path) v = (v as Record<string, unknown>)[key];
  return v;
}

function compileOnce<A extends object>(
  db: Db,
  build: (args: A) => RawBuilder<unknown>,
  args: A,
): Template | null {
  let marked: CompiledQuery;
  try {
    marked = build(markersOf(args, []) as A).compile(db);
  } catch {
    return null;
  }
  const slots = marked.parameters.map((p): Slot => {
    if (p instanceof Marker) return (a) => valueAt(a, p.path);
    return () => p;
  });
  const template = { sql: marked.sql, slots };
  // Bound with these arguments, the template must give exactly what building on them gives.
  const direct = build(args).compile(db);
  const bound = slots.map((slot) => slot(args));
  const same =
    direct.sql === template.sql &&
    direct.parameters.length === bound.length &&
    direct.parameters.every((p, i) => Object.is(p, bound[i]));
  return same ? template : null;
}
