import { describe, expect, it } from 'vitest';
import { PeakHold } from '../../src/fortune-teller/peak-hold.js';

describe('PeakHold', () => {
  it.each([
    // values added (t ms, value), asked at (ms), expected
    [[[0, 5], [100, 3]], 200, 5],
    [[[0, 5], [100, 3]], 2100, 0], // held 2 s, then expired with no newer value
    [[[0, 5], [2500, 3]], 2600, 3], // the held peak expired: the current value replaces it
    [[[0, 5], [1000, 7]], 2500, 7], // a new maximum restarts the hold
  ] as Array<[Array<[number, number]>, number, number]>)('%j at %d ms -> %d', (adds, atMs, expected) => {
    const p = new PeakHold(2_000_000);
    for (const [t, v] of adds) p.add(t * 1000, v);
    expect(p.value(atMs * 1000)).toBe(expected);
  });
});
