import { describe, expect, it } from 'vitest';
import {
  InterArrivalDelta,
  MAX_BURST_DURATION_MS,
  REORDERED_RESET_THRESHOLD,
  type InterArrivalDeltaEvent,
} from '../../../testbed/gcc/inter-arrival-delta.js';
import { replayGcc, type GccPacket } from '../../../testbed/gcc/replay-gcc.js';
import { paced } from './helpers.js';

function kinds(ia: InterArrivalDelta, rows: readonly [number, number][]): InterArrivalDeltaEvent['kind'][] {
  return rows.map(([s, a]) => ia.computeDeltas(s, a, 1200).kind);
}

describe('InterArrivalDelta grouping', () => {
  it('groups packets within 5 ms of send time and reports last-send / last-arrival deltas', () => {
    const ia = new InterArrivalDelta();
    // groups {0, 3, 5} {10, 12} {20}; the third group's first packet completes the first delta
    const ev = [
      [0, 50],
      [3, 53],
      [5, 55],
      [10, 62],
      [12, 64],
      [20, 70],
    ].map(([s, a]) => ia.computeDeltas(s ?? 0, a ?? 0, 100));
    expect(ev.map((e) => e.kind)).toEqual(['none', 'none', 'none', 'none', 'none', 'delta']);
    expect(ev[5]).toEqual({ kind: 'delta', sendDeltaMs: 12 - 5, arrivalDeltaMs: 64 - 55, sizeDeltaBytes: 200 - 300 });
  });

  it.each([
    ['arrives within 5 ms, earlier than its send spacing: a burst, same group', [[0, 50], [20, 52], [40, 90]], ['none', 'none', 'none']],
    ['arrives 6 ms later: a new group', [[0, 50], [20, 56], [40, 90]], ['none', 'none', 'delta']],
    ['the burst would last 100 ms or more: a new group', [[0, 50], [100, 52], [200, 50 + MAX_BURST_DURATION_MS], [300, 400]], ['none', 'none', 'none', 'delta']],
  ] as const)('burst rule: %s', (_name, rows, want) => {
    expect(kinds(new InterArrivalDelta(), rows as unknown as [number, number][])).toEqual(want);
  });

  it('drops a packet sent before its group started (send-time reordering)', () => {
    expect(kinds(new InterArrivalDelta(), [[0, 50], [20, 70], [10, 75], [40, 90]])).toEqual([
      'none',
      'none',
      'reordered-packet',
      'delta',
    ]);
  });
});

/** One packet per 20 ms group, 30 ms one-way delay, except where override says otherwise. */
function series(n: number, override: (i: number) => number | undefined): GccPacket[] {
  return paced(n, 20, (i) => override(i) ?? 30);
}

describe('backwards reported arrivals (one feedback per packet)', () => {
  it.each([
    ['arrivals jump 100 ms back from packet 11 on', series(40, (i) => (i >= 11 ? -70 : undefined)), 3, 1],
    ['one packet (11) reported 60 ms early', series(40, (i) => (i === 11 ? -30 : undefined)), 3, 1],
    ['two early packets far apart', series(80, (i) => (i === 11 || i === 50 ? -30 : undefined)), 6, 2],
    [
      'one early packet inside a 3-packet frame: later packets of the frame heal it',
      Array.from({ length: 120 }, (_, i) => {
        const sendTimeMs = Math.floor(i / 3) * 20 + (i % 3);
        return { seq: i, sendTimeMs, sizeBytes: 1200, arrivalTimeMs: sendTimeMs + (i === 31 ? -30 : 30) };
      }),
      0,
      0,
    ],
  ])('%s', (_name, s, negatives, resets) => {
    const r = replayGcc(s, { feedbackIntervalMs: 0 });
    expect(r.counts.negativeArrivalDeltas).toBe(negatives);
    expect(r.counts.reorderResets).toBe(resets);
    expect(r.groups.every((g) => g.arrivalDeltaMs >= 0)).toBe(true);
  });

  it('a negative delta freezes the group pair: the next 3 new-group packets are dropped, then a reset, then 2 silent groups', () => {
    // a 75 ms step keeps every reported arrival distinct (the rows are identified by it)
    const r = replayGcc(series(40, (i) => (i >= 11 ? -45 : undefined)), { feedbackIntervalMs: 0 });
    const rowsAt = r.groups.map((g) => g.tMs);
    const arrival = (i: number): number => 20 * i + (i >= 11 ? -45 : 30);
    // packet 10 completes the last good delta; 11 joins group 10 as a "burst" (it arrives earlier);
    // 12, 13, 14 each see group 10 - group 9 < 0; the 3rd resets; 15 starts, 16 opens, 17 reports
    expect(rowsAt).toContain(arrival(10));
    for (const i of [11, 12, 13, 14, 15, 16]) expect(rowsAt).not.toContain(arrival(i));
    expect(rowsAt).toContain(arrival(17));
    expect(REORDERED_RESET_THRESHOLD).toBe(3);
  });

  it('in one feedback the packets are re-sorted by receive time, so only feedback boundaries can go backwards', () => {
    const s = series(40, (i) => (i === 11 ? -30 : undefined));
    expect(replayGcc(s, { feedbackIntervalMs: Infinity }).counts.negativeArrivalDeltas).toBe(0);
  });
});
