import { describe, expect, it } from 'vitest';
import { DeltaWindow } from '../../src/feedback-updater/delta-window.js';
import { seededRng } from '../../src/feedback-updater/rng.js';

describe('DeltaWindow', () => {
  it('returns 0 from an empty window', () => {
    const w = new DeltaWindow();
    expect(w.sample(0, seededRng(1))).toBe(0);
  });

  it('keeps non-negative deltas for historyMs and caps each at maxDeltaMs', () => {
    const w = new DeltaWindow({ historyMs: 40, maxDeltaMs: 10 });
    w.add(0, 25);
    w.add(1000, 0);
    expect(w.deltaCount(1000)).toBe(2);
    expect(w.meanDeltaMs(1000)).toBe(5); // (10 + 0) / 2: the 25 ms delta was capped at 10
    expect(w.deltaCount(40_000)).toBe(2); // exactly 40 ms old: still in
    expect(w.deltaCount(40_001)).toBe(1);
    expect(w.deltaCount(41_001)).toBe(0);
  });

  it('turns negative deltas into capped tokens, not window entries', () => {
    const w = new DeltaWindow({ maxDeltaMs: 10 });
    w.add(0, -3);
    w.add(0, -30);
    expect(w.deltaCount(0)).toBe(0);
    expect(w.tokenBalanceMs(0)).toBe(13);
  });

  it('samples only values present in the window, each about equally often', () => {
    const w = new DeltaWindow();
    const vals = [0, 1, 2, 3];
    vals.forEach((v, i) => w.add(i, v));
    const rng = seededRng(3);
    const counts = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const s = w.sample(10, rng);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(vals);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });

  it('spends tokens oldest first, partially, and never more than the balance', () => {
    const w = new DeltaWindow({ tokenTtlMs: 40 });
    w.addToken(0, 2);
    w.addToken(10_000, 3);
    expect(w.spendTokens(10_000, 1.5)).toBe(1.5);
    expect(w.tokenBalanceMs(10_000)).toBeCloseTo(3.5, 9);
    // at 40.001 ms the first token (0.5 ms left) expires; the second remains
    expect(w.tokenBalanceMs(40_001)).toBeCloseTo(3, 9);
    expect(w.spendTokens(40_001, 10)).toBeCloseTo(3, 9);
    expect(w.tokenBalanceMs(40_001)).toBe(0);
    expect(w.spendTokens(40_001, 1)).toBe(0);
  });

  it('expires tokens after tokenTtlMs', () => {
    const w = new DeltaWindow({ tokenTtlMs: 5 });
    w.add(0, -4);
    expect(w.tokenBalanceMs(5000)).toBe(4);
    expect(w.tokenBalanceMs(5001)).toBe(0);
  });

  it('has bounded memory: a full ring overwrites its oldest entries', () => {
    const w = new DeltaWindow({ maxEntries: 8 });
    for (let i = 0; i < 20; i++) w.add(i, i % 2 === 0 ? 1 : -1);
    expect(w.deltaCount(20)).toBe(8);
    expect(w.tokenBalanceMs(20)).toBe(8);
    expect(w.overwritten).toEqual({ deltas: 2, tokens: 2 });
    expect(w.meanDeltaMs(20)).toBe(1);
  });

  it('ignores non-finite deltas and rejects bad configuration', () => {
    const w = new DeltaWindow();
    w.add(0, Number.NaN);
    w.add(0, Number.POSITIVE_INFINITY);
    expect(w.deltaCount(0)).toBe(0);
    expect(() => new DeltaWindow({ historyMs: 0 })).toThrow(RangeError);
    expect(() => new DeltaWindow({ maxEntries: 0 })).toThrow(RangeError);
  });
});
