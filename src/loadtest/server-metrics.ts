import { request } from 'undici';

/** Prometheus text -> { 'name{labels}': value } for gauges and counters (histogram buckets left out). */
export function parsePrometheus(text: string): {
  values: Record<string, number>;
  types: Record<string, string>;
} {
  const values: Record<string, number> = {};
  const types: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (name && type) types[name] = type;
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels = '', raw] = match;
    const type = types[name];
    if (type !== 'gauge' && type !== 'counter') continue;
    const value = Number(raw);
    if (Number.isFinite(value)) values[name + labels] = value;
  }
  return { values, types };
}

const INTERESTING =
  /queue|pool|wait|lag|active|inflight|in_flight|admi|connection|overload|held|cpu|heap|rss/i;
const MAX_SERIES = 32;

/** Scrapes a Prometheus endpoint once a second; counters become per-second rates. */
export class ServerMetricsScraper {
  private readonly url: string;
  private previous: Record<string, number> | undefined;
  private types: Record<string, string> = {};
  private chosen: string[] | undefined;
  failures = 0;

  constructor(url: string) {
    this.url = url;
  }

  async scrape(): Promise<Record<string, number> | undefined> {
    try {
      const res = await request(this.url, { headersTimeout: 900, bodyTimeout: 900 });
      if (res.statusCode !== 200) {
        await res.body.dump();
        this.failures++;
        return undefined;
      }
      const parsed = parsePrometheus(await res.body.text());
      this.types = { ...this.types, ...parsed.types };
      this.chosen ??= this.choose(Object.keys(parsed.values));
      const out: Record<string, number> = {};
      for (const key of this.chosen) {
        const value = parsed.values[key];
        if (value === undefined) continue;
        const name = key.replace(/\{.*$/, '');
        if (this.types[name] === 'counter') {
          const before = this.previous?.[key];
          if (before !== undefined) out[`rate(${key})`] = Math.max(0, value - before);
        } else {
          out[key] = value;
        }
      }
      this.previous = parsed.values;
      return out;
    } catch {
      this.failures++;
      return undefined;
    }
  }

  private choose(keys: string[]): string[] {
    const preferred = keys.filter((k) => INTERESTING.test(k));
    const rest = keys.filter((k) => !INTERESTING.test(k));
    return [...preferred, ...rest].slice(0, MAX_SERIES);
  }
}
