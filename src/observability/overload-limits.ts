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
}

export const defaultOverloadLimits: OverloadLimits = {
  maxEventLoopDelayMs: 250,
  maxHeapMb: 0,
  waitingRoomFactor: 2,
  poolTargetMs: 50,
  poolIntervalMs: 500,
};

/** 90% of V8's heap limit: a bound for when none is configured. */
export const autoHeapLimitMb = (): number =>
  Math.floor((getHeapStatistics().heap_size_limit / 2 ** 20) * 0.9);

/** Limits from the configuration: a heap bound of 0 means 90% of V8's heap limit. */
export function overloadLimits(overload: {
  maxEventLoopDelayMs: number;
  maxHeapMb: number;
  poolTargetMs: number;
  poolIntervalMs: number;
}): OverloadLimits {
  return {
    ...defaultOverloadLimits,
    ...overload,
    maxHeapMb: overload.maxHeapMb > 0 ? overload.maxHeapMb : autoHeapLimitMb(),
  };
}
