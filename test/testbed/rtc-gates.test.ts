import { describe, expect, it } from 'vitest';
import { dropGates, gatesMarkdown, traceGates } from '../../testbed/eval/rtc-gates.js';
import type { EvalRun } from '../../testbed/eval/stats.js';

const run = (zhuge: boolean, metrics: Record<string, number>, where: { k?: number; trace?: string }): EvalRun => ({ zhuge, sender: 'gcc', rep: 0, metrics, ...where });

describe('rtc-gates', () => {
  it.each([
    // [late without, late with, halved, within spread]
    [[6, 7, 8], [3, 3.5, 4], true, true],
    [[6, 7, 8], [3.6, 3.6, 3.6], false, true],
    [[6, 6, 6], [6.5, 6.5, 6.5], false, false], // longer, and no spread to excuse it
    [[5, 6, 8], [8, 8, 8], false, true], // longer by less than the spread (3 s)
  ])('frame delay > 400 ms: without %j, with %j -> halved %s, within spread %s', (w, z, halved, within) => {
    const runs = [...w.map((x) => run(false, { frameDelayAbove400msSeconds: x }, { k: 10 })), ...z.map((x) => run(true, { frameDelayAbove400msSeconds: x }, { k: 10 }))];
    const g = dropGates(10, runs);
    expect(g.late.halved).toBe(halved);
    expect(g.late.withinSpread).toBe(within);
  });

  it('GCC never below the capacity counts as later than any time; bitrate gate at 0.85', () => {
    const runs = [
      run(false, { gccBelowCapacityAfterMs: Number.NaN, bitrateOverCapacity: 1 }, { k: 2 }),
      run(true, { gccBelowCapacityAfterMs: 900, bitrateOverCapacity: 0.84 }, { k: 2 }),
    ];
    const g = dropGates(2, runs);
    expect(g.gcc.sooner).toBe(true);
    expect(g.bitrate.ok).toBe(false);
  });

  it('traces: the bitrate ratio of the medians and a summary line', () => {
    const runs = [
      run(false, { bitrateMbps: 0.6, framesAbove400msShare: 0.1, frameDelayP99Ms: 500, fpsBelow10Seconds: 1 }, { trace: 'a' }),
      run(true, { bitrateMbps: 0.3, framesAbove400msShare: 0.02, frameDelayP99Ms: 300, fpsBelow10Seconds: 1 }, { trace: 'a' }),
    ];
    expect(traceGates('a', runs).bitrateRatio).toBeCloseTo(0.5);
    expect(gatesMarkdown(runs)).toContain('80 % lower');
  });
});
