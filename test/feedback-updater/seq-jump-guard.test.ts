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
    { name: 'two forged numbers in a row, the sender goes on: refuted', in: [[10, 0], [8010, 1 * MS], [8011, 2 * MS], [11, 3 * MS], [8012, 4 * MS], [12, 5 * MS]], want: [true, false, false, true, false, true] },
    { name: 'a jump continued while the old numbering is quiet for 200 ms: the sender did jump', in: [[10, 0], [8010, 1 * MS], [8011, 100 * MS], [8012, 201 * MS], [8013, 202 * MS]], want: [true, false, false, true, true] },
    { name: 'a jump not continued for 200 ms: held again from its next number', in: [[10, 0], [8010, 1 * MS], [20000, 250 * MS], [20001, 260 * MS]], want: [true, false, false, false] },
    { name: 'a jump of 3000 after 1 s without packets (25 per ms allowed)', in: [[10, 0], [3010, 1000 * MS]], want: [true, true] },
    { name: 'across the 16-bit wrap', in: [[65530, 0], [65535, 1 * MS], [3, 2 * MS]], want: [true, true, true] },
    { name: 'a forged jump across the wrap', in: [[65530, 0], [20000, 1 * MS], [65531, 2 * MS]], want: [true, false, true] },
  ])('$name', ({ in: seqs, want }) => {
    const g = new SeqJumpGuard();
    expect(seqs.map(([s, t]) => g.accept(s ?? 0, t ?? 0))).toEqual(want);
    expect(g.rejected).toBe(want.filter((x) => !x).length);
  });

  it('a forger continuing its own numbering for a second beside a real sender (audio every 20 ms): never taken', () => {
    const g = new SeqJumpGuard();
    let real = 100;
    let forged = 30_000;
    let acceptedForged = 0;
    for (let tMs = 0; tMs < 1000; tMs++) {
      if (tMs % 20 === 0) expect(g.accept(real++ & 0xffff, tMs * MS)).toBe(true);
      if (g.accept(forged++ & 0xffff, tMs * MS + 500)) acceptedForged++;
    }
    expect(acceptedForged).toBe(0);
    expect(g.refuted).toBeGreaterThanOrEqual(49);
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
