import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeqJumpGuard } from '../../src/feedback-updater/seq-jump-guard.js';

const MS = 1000;

describe('SeqJumpGuard: transport-wide numbers a sender can have sent', () => {
  it.each([
    // [seq16, tUs] in order -> accepted?
    { name: 'consecutive', in: [[10, 0], [11, 1 * MS], [12, 2 * MS]], want: [true, true, true] },
    { name: 'reordered and late', in: [[10, 0], [12, 1 * MS], [11, 1 * MS], [5, 2 * MS]], want: [true, true, true, true] },
    { name: 'losses before the AP: a gap of 200 in 1 ms', in: [[10, 0], [210, 1 * MS]], want: [true, true] },
    { name: 'a forged jump of 8000 in 1 ms: held, the stream goes on', in: [[10, 0], [8010, 1 * MS], [11, 2 * MS], [12, 3 * MS]], want: [true, false, true, true] },
    { name: 'a jump the next number confirms: the sender did jump', in: [[10, 0], [8010, 1 * MS], [8011, 2 * MS], [8012, 3 * MS]], want: [true, false, true, true] },
    { name: 'a jump of 3000 after 1 s without packets (25 per ms allowed)', in: [[10, 0], [3010, 1000 * MS]], want: [true, true] },
    { name: 'across the 16-bit wrap', in: [[65530, 0], [65535, 1 * MS], [3, 2 * MS]], want: [true, true, true] },
    { name: 'a forged jump across the wrap', in: [[65530, 0], [20000, 1 * MS], [65531, 2 * MS]], want: [true, false, true] },
  ])('$name', ({ in: seqs, want }) => {
    const g = new SeqJumpGuard();
    expect(seqs.map(([s, t]) => g.accept(s ?? 0, t ?? 0))).toEqual(want);
    expect(g.rejected).toBe(want.filter((x) => !x).length);
  });

  it('property: a stream numbered one after another (with reordering by at most 10) is always accepted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.array(fc.integer({ min: -10, max: 10 }), { minLength: 1, maxLength: 500 }), (start, jitter) => {
        const g = new SeqJumpGuard();
        return jitter.every((j, k) => g.accept((start + k + j + 0x10000) & 0xffff, k * 100));
      }),
    );
  });
});
