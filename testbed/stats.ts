/**
 * The testbed's small numeric helpers, shared by every trial summary (pure): the nearest-rank
 * quantile and the rounding of reported numbers (r2: 2 decimals, r3: 3).
 */

/** Nearest-rank quantile, the testbed's convention for every summary (pure); NaN for no data. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

/** Rounded to 2 decimals (the demo's and the trials' reported numbers). */
export const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Rounded to 3 decimals (the evaluation's reported numbers). */
export const r3 = (x: number): number => Math.round(x * 1000) / 1000;
