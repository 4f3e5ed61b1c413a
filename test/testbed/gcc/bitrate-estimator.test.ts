import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BITRATE_ESTIMATOR_DEFAULTS,
  BitrateEstimator,
  ESTIMATE_VAR_PROCESS_NOISE,
} from '../../../testbed/gcc/bitrate-estimator.js';
import { replayGcc, type GccPacket } from '../../../testbed/gcc/replay-gcc.js';
import { cbr, lcg } from './helpers.js';

const { initialWindowMs, windowMs, uncertaintyScale } = BITRATE_ESTIMATOR_DEFAULTS;

/**
 * Upper bound on the number of post-step windows the estimate needs to close the gap from
 * fromKbps to within tol of toKbps, from the update equations alone: each sample x moves the
 * estimate e by the weight p / (p + S), S = (scale * (e - x) / e)^2, and p (the predicted
 * variance) is at least the process noise 5, so the gap shrinks at least to d * S / (5 + S).
 */
function windowsNeeded(fromKbps: number, toKbps: number, tol: number): number {
  let d = fromKbps - toKbps;
  let n = 0;
  while (d > tol * toKbps) {
    const s = (uncertaintyScale * (d / (toKbps + d))) ** 2;
    d = (d * s) / (ESTIMATE_VAR_PROCESS_NOISE + s);
    n += 1;
  }
  return n;
}

function jittered(series: GccPacket[], maxJitterMs: number, seed: number): GccPacket[] {
  const rnd = lcg(seed);
  return series.map((p) => ({ ...p, arrivalTimeMs: (p.arrivalTimeMs ?? 0) + rnd() * maxJitterMs }));
}

describe('acknowledged bitrate (BitrateEstimator)', () => {
  it('gives nothing before the 500 ms initial window, then the window average', () => {
    const est = new BitrateEstimator();
    for (let t = 0; t < initialWindowMs; t += 10) {
      est.update(t, 1250);
      expect(est.bitrateBps()).toBeNull();
    }
    est.update(initialWindowMs, 1250);
    expect(est.bitrateBps()).toBe(1_000_000);
  });

  // a window sample moves the estimate by p / (p + S) with S = (10 * relative error)^2 and p >= 5:
  // errors of a few % pass almost unfiltered, so arrival jitter that shifts one packet across a
  // 150 ms boundary (1 of 15 = 6.7 %) shows up as is; the jittered case is asserted on the mean
  it.each<[string, () => GccPacket[], 'every' | 'mean']>([
    ['1250 B every 10 ms', () => cbr(1e6, 1250, 0, 10_000), 'every'],
    ['200 B every 1.6 ms', () => cbr(1e6, 200, 0, 10_000), 'every'],
    [
      'frames of 5 x 1250 B every 50 ms',
      () =>
        Array.from({ length: 1000 }, (_, i) => {
          const t = Math.floor(i / 5) * 50 + (i % 5) * 0.5;
          return { seq: i, sendTimeMs: t, sizeBytes: 1250, arrivalTimeMs: t + 20 };
        }),
      'every',
    ],
    ['1250 B every 10 ms, 0-4 ms arrival jitter', () => jittered(cbr(1e6, 1250, 0, 10_000), 4, 7), 'mean'],
  ])('a constant 1 Mbit/s stream (%s) converges to 1 Mbit/s +- 5 %% (%s)', (_name, make, how) => {
    const r = replayGcc(make());
    const late = r.ackedBitrate.filter((a) => a.tMs >= 2000).map((a) => a.bitrateBps);
    expect(late.length).toBeGreaterThan(50);
    const checked = how === 'every' ? late : [late.reduce((a, b) => a + b, 0) / late.length];
    for (const bps of checked) expect(Math.abs(bps - 1e6) / 1e6).toBeLessThanOrEqual(0.05);
  });

  it('after a step from 1 to 0.3 Mbit/s it lags from above, by more than one window and less than the derived bound', () => {
    const stepMs = 5000;
    const before = cbr(1e6, 1250, 0, stepMs);
    const after = cbr(0.3e6, 1125, stepMs, 10_000, before.length);
    const r = replayGcc([...before, ...after]);
    const post = r.ackedBitrate.filter((a) => a.tMs >= stepMs + 20);
    const reached = post.find((a) => a.bitrateBps <= 1.05 * 0.3e6);
    expect(reached).toBeDefined();
    const lagMs = (reached?.tMs ?? Infinity) - (stepMs + 20);
    // one window that may mix both rates, then at most windowsNeeded() pure 0.3 Mbit/s windows
    const boundMs = (windowsNeeded(1000, 300, 0.05) + 1) * windowMs;
    expect(lagMs).toBeGreaterThan(windowMs);
    expect(lagMs).toBeLessThanOrEqual(boundMs);
    // direction: it comes down from above, never undershooting the new rate
    for (let i = 1; i < post.length; i += 1) {
      expect(post[i]?.bitrateBps ?? 0).toBeLessThanOrEqual((post[i - 1]?.bitrateBps ?? 0) + 1e-3);
      expect(post[i]?.bitrateBps ?? 0).toBeGreaterThanOrEqual(0.3e6 - 1);
    }
  });

  it('property: the estimate is always within the range of the window samples seen so far', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 40, max: 1500 })), {
          minLength: 1,
          maxLength: 400,
        }),
        (steps) => {
          const est = new BitrateEstimator();
          let t = 0;
          let lo = Infinity;
          let hi = -Infinity;
          for (const [dtMs, bytes] of steps) {
            t += dtMs;
            const sample = est.update(t, bytes);
            if (sample !== null) {
              lo = Math.min(lo, sample);
              hi = Math.max(hi, sample);
            }
            const kbps = (est.bitrateBps() ?? NaN) / 1000;
            if (!Number.isNaN(kbps)) {
              expect(kbps).toBeGreaterThanOrEqual(lo * (1 - 1e-6) - 1e-6);
              expect(kbps).toBeLessThanOrEqual(hi * (1 + 1e-6) + 1e-6);
            }
          }
        },
      ),
    );
  });
});
