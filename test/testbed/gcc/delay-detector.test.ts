import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replayGcc, type GccPacket } from '../../../testbed/gcc/replay-gcc.js';
import {
  MIN_NUM_DELTAS,
  THRESHOLD_MIN,
  TRENDLINE_THRESHOLD_GAIN,
  TRENDLINE_WINDOW_SIZE,
  linearFitSlope,
} from '../../../testbed/gcc/trendline-estimator.js';
import { paced } from './helpers.js';

describe('linearFitSlope', () => {
  it.each([
    [[0, 1, 2, 3], [5, 5, 5, 5], 0],
    [[0, 10, 20], [0, 1, 2], 0.1],
    [[0, 10, 20, 30], [3, 1, 3, 1], -0.04],
  ])('x=%j y=%j -> %f', (xs, ys, slope) => {
    expect(linearFitSlope(xs.map((x, i) => ({ xMs: x, yMs: ys[i] ?? 0 })))).toBeCloseTo(slope, 12);
  });
  it('is null when every x is the same', () => {
    expect(linearFitSlope([{ xMs: 1, yMs: 0 }, { xMs: 1, yMs: 5 }])).toBeNull();
  });
});

describe('delay-based detector: constant spacing', () => {
  it.each([
    [5, 0, 100],
    [10, 30, 100],
    [20, 250, 100],
    [33.3, 40, 0],
    [20, 40, Infinity],
  ])('packets every %f ms, %f ms one-way delay, feedback every %f ms -> normal throughout', (spacingMs, delayMs, fbMs) => {
    const r = replayGcc(paced(300, spacingMs, () => delayMs), { feedbackIntervalMs: fbMs });
    expect(r.groups.length).toBeGreaterThan(100);
    expect(r.groups.every((g) => g.state === 'normal')).toBe(true);
    expect(r.counts.overuseSignals).toBe(0);
    expect(r.firstOveruseMs).toBeNull();
  });
});

/**
 * A queue building by stretchMs per 20 ms group makes the accumulated delay grow with slope
 * s = stretch / (20 + stretch) per ms of arrival time. Overuse needs (i) a full regression
 * window (row index >= 19 gives the first slope), (ii) two consecutive over-threshold rows
 * (index >= 20), (iii) min(n, 60) * 4 * slope > threshold >= 6, i.e. n > 6 / (4 s); never if
 * 60 * 4 * s <= 6. The 0.9 smoothing and the threshold's own rise delay it by at most one more
 * window of groups.
 */
function expectedFirstOveruseRow(stretchMs: number): { lo: number; hi: number } | null {
  const s = stretchMs / (20 + stretchMs);
  if (MIN_NUM_DELTAS * TRENDLINE_THRESHOLD_GAIN * s <= THRESHOLD_MIN) return null;
  const lo = Math.max(TRENDLINE_WINDOW_SIZE, Math.ceil(THRESHOLD_MIN / (TRENDLINE_THRESHOLD_GAIN * s)));
  return { lo, hi: lo + TRENDLINE_WINDOW_SIZE };
}

describe('delay-based detector: arrivals stretching (a queue building)', () => {
  it.each([0.3, 0.5, 1, 2, 5, 10])('%f ms more per 20 ms group', (stretchMs) => {
    const r = replayGcc(paced(300, 20, (i) => 30 + stretchMs * i));
    const first = r.groups.findIndex((g) => g.state === 'overusing');
    const want = expectedFirstOveruseRow(stretchMs);
    if (want === null) {
      expect(first).toBe(-1);
      return;
    }
    expect(first).toBeGreaterThanOrEqual(want.lo);
    expect(first).toBeLessThanOrEqual(want.hi);
    expect(r.counts.overuseSignals).toBeGreaterThanOrEqual(1);
    expect(r.firstOveruseMs).toBe(r.groups[first]?.tMs);
    expect(r.groups[first]?.trendSlope).toBeGreaterThan(0);
  });

  it('a strong stretch signals at the earliest possible group: the 21st delta', () => {
    const r = replayGcc(paced(100, 20, (i) => 30 + 5 * i));
    expect(r.groups.findIndex((g) => g.state === 'overusing')).toBe(TRENDLINE_WINDOW_SIZE);
  });

  it('a queue draining (arrivals compressing) -> underusing, never overusing', () => {
    const r = replayGcc(paced(300, 20, (i) => 600 - 2 * i));
    expect(r.counts.underuseRows).toBeGreaterThan(0);
    expect(r.counts.overuseRows).toBe(0);
  });
});

const packetsArb = (delays: fc.Arbitrary<number>): fc.Arbitrary<GccPacket[]> =>
  fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), delays, fc.integer({ min: 100, max: 1500 })), {
    minLength: 2,
    maxLength: 300,
  }).map((rows) => {
    let t = 0;
    return rows.map(([gapMs, delayMs, sizeBytes], seq) => {
      t += gapMs;
      return { seq, sendTimeMs: t, sizeBytes, arrivalTimeMs: t + delayMs };
    });
  });

describe('delay-based detector: properties', () => {
  it('never signals overuse before the regression window is full plus one row', () => {
    fc.assert(
      fc.property(packetsArb(fc.integer({ min: 0, max: 400 })), fc.constantFrom(0, 50, 100), (series, fbMs) => {
        const r = replayGcc(series, { feedbackIntervalMs: fbMs });
        expect(r.groups.slice(0, TRENDLINE_WINDOW_SIZE).some((g) => g.state === 'overusing')).toBe(false);
      }),
    );
  });

  it('a constant one-way delay with any send pattern is always normal', () => {
    fc.assert(
      fc.property(packetsArb(fc.constant(0)), fc.integer({ min: 0, max: 500 }), (series, delayMs) => {
        const shifted = series.map((p) => ({ ...p, arrivalTimeMs: p.sendTimeMs + delayMs }));
        const r = replayGcc(shifted);
        expect(r.groups.every((g) => g.state === 'normal')).toBe(true);
        expect(r.counts.negativeArrivalDeltas).toBe(0);
      }),
    );
  });
});
