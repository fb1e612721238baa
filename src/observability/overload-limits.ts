import { getHeapStatistics } from 'node:v8';

/** A bound of 0 is switched off. */
export interface OverloadLimits {
  maxEventLoopDelayMs: number;
  maxHeapMb: number;
  /** The waiting-room routes shed only beyond the bounds times this factor. */
  waitingRoomFactor: number;
  /** CoDel target and interval of the connection queue: waits above the target for a whole interval stand. */
  poolTargetMs: number;
  poolIntervalMs: number;
  /** V8's old-generation limit: the heap is critical halfway from maxHeapMb to it, so shedding starts before the process dies. */
  heapLimitMb: number;
}

/** Node 26's V8 reserves three semi-spaces of 32 MB for the young generation unless --max-semi-space-size says otherwise. */
const DEFAULT_SEMI_SPACE_MB = 32;

/** The last --max-semi-space-size given on the command line or in NODE_OPTIONS, in MB. */
function semiSpaceMb(flags: string[]): number {
  const given = flags.map((f) => /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(f)?.[1]).filter(Boolean);
  return given.length > 0 ? Number(given.at(-1)) : DEFAULT_SEMI_SPACE_MB;
}

/**
 * The heap in use at which V8 aborts the process: the old generation's limit, since the young generation's
 * survivors must fit into it. heap_size_limit adds the young reserve, so a share of it can lie past death.
 */
export function v8HeapLimitMb(
  flags: string[] = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)],
): number {
  const limitMb = getHeapStatistics().heap_size_limit / 2 ** 20;
  return Math.floor(limitMb - 3 * semiSpaceMb(flags));
}

export const defaultOverloadLimits: OverloadLimits = {
  maxEventLoopDelayMs: 250,
  maxHeapMb: 0,
  waitingRoomFactor: 2,
  poolTargetMs: 50,
  poolIntervalMs: 500,
  heapLimitMb: v8HeapLimitMb(),
};

/** 80% of V8's old-generation limit: the heap bound when none is configured. */
export const autoHeapLimitMb = (): number => Math.floor(defaultOverloadLimits.heapLimitMb * 0.8);

/** A configured heap bound past 90% of V8's limit could not shed in time. */
const highestHeapBoundMb = (): number => Math.floor(defaultOverloadLimits.heapLimitMb * 0.9);

/** Limits from the configuration: a heap bound of 0 means 80% of V8's limit, and none exceeds 90% of it. */
export function overloadLimits(overload: {
  maxEventLoopDelayMs: number;
  maxHeapMb: number;
  poolTargetMs: number;
  poolIntervalMs: number;
}): OverloadLimits {
  return {
    ...defaultOverloadLimits,
    ...overload,
    maxHeapMb:
      overload.maxHeapMb > 0 ? Math.min(overload.maxHeapMb, highestHeapBoundMb()) : autoHeapLimitMb(),
  };
}

/** Where the heap turns critical: halfway from its shedding bound to V8's limit (90% with the default bound). */
export const criticalHeapMb = ({ maxHeapMb, heapLimitMb }: OverloadLimits): number =>
  maxHeapMb < heapLimitMb ? maxHeapMb + (heapLimitMb - maxHeapMb) / 2 : maxHeapMb;
