import { describe, expect, it } from 'vitest';
import { summarizePings } from '../../testbed/experiment.js';
import type { RttSample } from '../../testbed/traffic.js';

/** Probes sent every `everyMs` from t = 0 with the given RTTs; `missing` seqs never answered. */
function probes(rtts: number[], everyMs: number, missing: ReadonlySet<number> = new Set()): RttSample[] {
  const out: RttSample[] = [];
  rtts.forEach((rttMs, i) => {
    const seq = i + 1;
    if (!missing.has(seq)) out.push({ seq, rttMs, tMs: i * everyMs + rttMs });
  });
  return out.sort((a, b) => a.tMs - b.tMs);
}

describe('summarizePings', () => {
  const cases: Array<{ name: string; pings: RttSample[]; dropAt: number; end: number; lost: number; above200s: number; p50: number; before: number }> = [
    {
      // ping asked for 10 ms but kept 15 ms: nothing is lost and the time above 200 ms is 15 ms per probe
      name: 'the interval ping kept, not the nominal one',
      pings: probes([...new Array<number>(100).fill(50), ...new Array<number>(100).fill(300)], 15),
      dropAt: 1500,
      end: 3000,
      lost: 0,
      above200s: 1.5,
      p50: 300,
      before: 50,
    },
    {
      // a reply that comes after the drop for a probe sent before it belongs to the steady state
      name: 'a probe belongs to the phase it was sent in',
      pings: probes([...new Array<number>(10).fill(40), 900, ...new Array<number>(9).fill(40)], 100),
      dropAt: 1050,
      end: 2000,
      lost: 0,
      above200s: 0,
      p50: 40,
      before: 40,
    },
    {
      name: 'missing sequence numbers after the drop are losses at 1000 ms',
      pings: probes(new Array<number>(20).fill(100), 10, new Set([15, 16])),
      dropAt: 100,
      end: 200,
      lost: 2,
      above200s: 0.02,
      p50: 100,
      before: 100,
    },
  ];
  it('without sequence numbers, probes are expected at the nominal interval', () => {
    const pings = probes(new Array<number>(20).fill(100), 10).map(({ tMs, rttMs }) => ({ tMs, rttMs }));
    // expected: (last reply 290 + 1 - drop 100) / 10 = 19; the 10 sent after the drop were all
    // answered, yet 9 count as lost (replies received after the drop to probes sent before it do
    // not count): the bias sequence numbers avoid
    const m = summarizePings(pings, 100, 400, 10);
    expect(m.probesLost).toBe(9);
  });

  for (const c of cases) {
    it(c.name, () => {
      const m = summarizePings(c.pings, c.dropAt, c.end, 10);
      expect(m.probesLost).toBe(c.lost);
      expect(m.rttAbove200msSeconds).toBeCloseTo(c.above200s, 2);
      expect(m.rttP50Ms).toBe(c.p50);
      expect(m.rttBeforeDropP50Ms).toBe(c.before);
    });
  }
});
