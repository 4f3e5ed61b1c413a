import { describe, expect, it } from 'vitest';
import { Xoshiro128, seededRng } from '../../src/feedback-updater/rng.js';

describe('Xoshiro128', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const c = seededRng(43);
    const sa = Array.from({ length: 8 }, () => a.next());
    const sb = Array.from({ length: 8 }, () => b.next());
    const sc = Array.from({ length: 8 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('stays in [0,1) and is roughly uniform (chi-square over 20 bins, df=19, p=0.001 critical 43.82)', () => {
    const r = new Xoshiro128(7);
    const bins = new Array<number>(20).fill(0);
    const n = 100_000;
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outOfRange++;
      const k = Math.floor(x * 20);
      bins[k] = (bins[k] ?? 0) + 1;
    }
    expect(outOfRange).toBe(0);
    const e = n / 20;
    const chi2 = bins.reduce((s, o) => s + ((o - e) * (o - e)) / e, 0);
    expect(chi2).toBeLessThan(43.82);
  });

  it('seed 0 does not produce a stuck generator', () => {
    const r = new Xoshiro128(0);
    const xs = new Set(Array.from({ length: 100 }, () => r.nextUint32()));
    expect(xs.size).toBeGreaterThan(95);
  });
});
