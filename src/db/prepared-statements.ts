// A statement sent on every hold or payment is planned once per connection instead of on every call:
// on PostgreSQL, planning the payment statement costs more than running it.
import { createHash } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import pg from 'pg';

const MARK = /^\/\* prepared (\w+) \*\//;

/** Marks a hot statement for preparation. A driver that cannot prepare it sends it as it is. */
export function prepared<T>(name: string, statement: RawBuilder<T>): RawBuilder<T> {
  return sql<T>`/* prepared ${sql.raw(name)} */ ${statement}`;
}

/**
 * A pg client that prepares marked statements under a name derived from their text, so a
 * connection parses and plans each one once; everything else goes through unchanged.
 */
export class PreparingPgClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; this passes them all through
  override query(config: any, values?: any, callback?: any): any {
    const name = typeof config === 'string' && Array.isArray(values) ? MARK.exec(config)?.[1] : undefined;
    if (name === undefined) return super.query(config, values, callback);
    // The text's hash in the name: a statement whose text changes is a new one, never a clash.
    const digest = createHash('sha1').update(config).digest('base64url').slice(0, 16);
    return super.query({ name: `${name}_${digest}`, text: config, values }, callback);
  }
}
