import { describe, expect, it } from 'vitest';
import { RestartBudget } from '../../src/daemon/restart-budget.js';

describe('RestartBudget: at most max restarts within windowMs', () => {
  it.each([
    // restart times (ms) -> allowed?
    { at: [0, 1, 2, 3, 4], want: [true, true, true, true, true] },
    { at: [0, 1, 2, 3, 4, 5], want: [true, true, true, true, true, false] },
    // the first leaves the window at 60 s: room for one more
    { at: [0, 1, 2, 3, 4, 59_999, 60_000], want: [true, true, true, true, true, false, true] },
    // spread out: never refused
    { at: [0, 20_000, 40_000, 60_000, 80_000, 100_000, 120_000], want: [true, true, true, true, true, true, true] },
  ])('$at', ({ at, want }) => {
    const b = new RestartBudget(5, 60_000);
    expect(at.map((t) => b.allow(t))).toEqual(want);
  });

  it('a refused restart is not counted', () => {
    const b = new RestartBudget(1, 1000);
    expect(b.allow(0)).toBe(true);
    expect(b.allow(10)).toBe(false);
    expect(b.recent(10)).toBe(1);
    expect(b.allow(1000)).toBe(true);
  });
});
