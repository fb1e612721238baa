/** A k6-style stage: move linearly to `target` (VUs or flows/s) over `durationMs`. */
export interface Stage {
  durationMs: number;
  target: number;
}

export interface Profile {
  /** Level at t=0 (k6 `startVUs` / `startRate`). */
  start: number;
  stages: Stage[];
}

const MINUTE = 60_000;

/** The seed's k6 profile, plus shorter shapes of it. */
export const PROFILES: Record<string, Profile> = {
  seed: {
    start: 500,
    stages: [
      { durationMs: MINUTE, target: 500 },
      { durationMs: MINUTE, target: 500 },
      { durationMs: 2 * MINUTE, target: 500 },
      { durationMs: 2 * MINUTE, target: 2000 },
      { durationMs: MINUTE, target: 2000 },
      { durationMs: MINUTE, target: 0 },
    ],
  },
  quick: {
    start: 50,
    stages: [
      { durationMs: 10_000, target: 50 },
      { durationMs: 10_000, target: 50 },
      { durationMs: 15_000, target: 200 },
      { durationMs: 15_000, target: 200 },
      { durationMs: 10_000, target: 0 },
    ],
  },
  smoke: {
    start: 2,
    stages: [
      { durationMs: 2_000, target: 5 },
      { durationMs: 3_000, target: 5 },
      { durationMs: 1_000, target: 0 },
    ],
  },
};

/** '30s' | '1m' | '1m30s' | '500ms' | '2h' -> milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(re)) {
    if (match.index !== consumed) break;
    const unit = { ms: 1, s: 1000, m: MINUTE, h: 60 * MINUTE }[match[2] as 'ms' | 's' | 'm' | 'h'];
    total += Number(match[1]) * unit;
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length) throw new Error(`bad duration '${text}'`);
  return Math.round(total);
}

/** '30s:100,1m:500,10s:0' (duration:target, comma separated); starts at 0 unless `start` given. */
export function parseStages(text: string, start = 0): Profile {
  const stages = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [duration, target, ...rest] = part.split(':');
      const value = Number(target);
      if (rest.length || target === undefined || !Number.isFinite(value) || value < 0) {
        throw new Error(`bad stage '${part}': expected duration:target, e.g. 30s:100`);
      }
      return { durationMs: parseDuration(duration), target: value };
    });
  if (!stages.length) throw new Error('no stages given');
  return { start, stages };
}

export function totalDurationMs(profile: Profile): number {
  return profile.stages.reduce((sum, s) => sum + s.durationMs, 0);
}

/** The level (VUs or rate) the profile asks for at `elapsedMs`, linearly interpolated like k6. */
export function levelAt(profile: Profile, elapsedMs: number): number {
  let from = profile.start;
  let offset = 0;
  for (const stage of profile.stages) {
    if (elapsedMs < offset + stage.durationMs) {
      const fraction = stage.durationMs === 0 ? 1 : (elapsedMs - offset) / stage.durationMs;
      return from + (stage.target - from) * fraction;
    }
    offset += stage.durationMs;
    from = stage.target;
  }
  return from;
}

/** Index of the stage running at `elapsedMs` (stages.length once the profile is over). */
export function stageIndexAt(profile: Profile, elapsedMs: number): number {
  let offset = 0;
  for (let i = 0; i < profile.stages.length; i++) {
    offset += profile.stages[i].durationMs;
    if (elapsedMs < offset) return i;
  }
  return profile.stages.length;
}

/** Flows that a rate profile starts in [0, elapsedMs): the integral of the rate (flows/s). */
export function arrivalsBy(profile: Profile, elapsedMs: number): number {
  let from = profile.start;
  let offset = 0;
  let total = 0;
  for (const stage of profile.stages) {
    const span = Math.min(stage.durationMs, Math.max(0, elapsedMs - offset));
    if (span > 0) {
      const fraction = stage.durationMs === 0 ? 1 : span / stage.durationMs;
      const end = from + (stage.target - from) * fraction;
      total += ((from + end) / 2) * (span / 1000);
    }
    offset += stage.durationMs;
    from = stage.target;
    if (elapsedMs <= offset) return total;
  }
  return total + from * (Math.max(0, elapsedMs - offset) / 1000);
}

/** Scale a profile's levels by `share` (a worker's part of the load). */
export function shareOf(profile: Profile, share: number): Profile {
  return {
    start: profile.start * share,
    stages: profile.stages.map((s) => ({ durationMs: s.durationMs, target: s.target * share })),
  };
}

export function maxLevel(profile: Profile): number {
  return Math.max(profile.start, ...profile.stages.map((s) => s.target));
}
