/** The median of a bench's rounds (the upper one of an even count): one slow or fast round does not move it. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
