import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReportTiming, type ReportSink } from '../../src/feedback-updater/report-timing.js';

const MS = 1000;

function collector(): { sink: ReportSink; out: Array<[number, number | null]> } {
  const out: Array<[number, number | null]> = [];
  return { sink: (slot, t) => out.push([slot, t]), out };
}

const noPrediction = (): number => Number.NaN;

describe('ReportTiming', () => {
  it('reports a departed packet at its observed departure, in order', () => {
    const rt = new ReportTiming({}, 0);
    const { sink, out } = collector();
    const a = rt.push(0, 40 * MS, 0, sink);
    const b = rt.push(1 * MS, 50 * MS, 0, sink);
    rt.departed(a, 3 * MS);
    rt.departed(b, 4 * MS);
    expect(rt.drain(10 * MS, noPrediction, sink)).toBe(2);
    expect(out.map((x) => x[1])).toEqual([3 * MS, 4 * MS]);
    expect(rt.counters.reportedObserved).toBe(2);
    // the Fortune Teller's predictions at arrival (40 and 50 ms) against 3 ms sojourns
    expect(rt.counters.arrivalPredictionsChecked).toBe(2);
    expect(rt.counters.arrivalPredictionAbsErrorSumUs).toBe(37 * MS + 47 * MS);
  });

  it.each([
    // predicted departure (ms from the build), reported at (ms from the build)
    [10, 10],
    [50, 50],
    [51, 50],
    [400, 50],
  ])('clamp: a queued packet predicted %d ms ahead at the minimum lead (50 ms) is reported at +%d ms', (aheadMs, atMs) => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, beyondLead: 'clamp' }, 0);
    const { sink, out } = collector();
    rt.push(0, 0, 7, sink);
    const t = 1 * MS;
    rt.drain(t, () => t + aheadMs * MS, sink);
    expect(out).toEqual([[0, t + atMs * MS]]);
    expect(rt.counters.reportedClamped).toBe(aheadMs > 50 ? 1 : 0);
  });

  it.each([
    // predicted departure (ms from the build), reported now (ms from the build) or null: deferred
    [10, 10],
    [50, 50],
    [51, null],
    [400, null],
  ])('defer: a queued packet predicted %d ms ahead at the minimum lead (50 ms): reported at +%s ms', (aheadMs, atMs) => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, beyondLead: 'defer' }, 0);
    const { sink, out } = collector();
    rt.push(0, 0, 7, sink);
    const t = 1 * MS;
    const departAt = t + aheadMs * MS;
    rt.drain(t, () => departAt, sink);
    if (atMs === null) {
      expect(out).toEqual([]);
      expect(rt.counters.deferred).toBe(1);
      // a later build, with the prediction within the lead: reported at it
      rt.drain(departAt - 20 * MS, () => departAt, sink);
      expect(out).toEqual([[0, departAt]]);
    } else expect(out).toEqual([[0, t + atMs * MS]]);
  });

  it('defer: the packets behind a deferred one wait too (order), and keep the predicted spacing', () => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, beyondLead: 'defer' }, 0);
    const { sink, out } = collector();
    for (let k = 0; k < 4; k++) rt.push(k * MS, 0, k, sink);
    // packet k predicted to leave at 30 + 40 k ms
    const pred = (pos: number): number => 30 * MS + pos * 40 * MS;
    rt.drain(5 * MS, pred, sink); // within 55 ms: packet 0 (30 ms) only
    expect(out).toEqual([[0, 30 * MS]]);
    rt.drain(60 * MS, pred, sink); // within 110 ms: 70, 110
    rt.drain(110 * MS, pred, sink); // within 160 ms: 150
    expect(out.map((x) => x[1])).toEqual([30 * MS, 70 * MS, 110 * MS, 150 * MS]);
    expect(rt.pending).toBe(0);
  });

  it.each([
    // [horizon (ms), earned lead at the build (ms), reported at (ms from the build)]
    [Infinity, 800, 400], // the prediction itself (400 ms ahead) is within both
    [200, 800, 200], // the link's rates last 200 ms: no further ahead than that
    [10, 800, 50], // never below the minimum lead
    [1000, 100, 100], // the earned lead still bounds it
  ])('clamp: a prediction 400 ms ahead with the link horizon %d ms and the lead earned %d ms is reported at +%d ms', (horizonMs, earnedMs, atMs) => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, beyondLead: 'clamp' }, 0);
    const { sink, out } = collector();
    const t = earnedMs * MS; // no bad prediction since 0
    rt.push(t - 1 * MS, 0, 7, sink);
    rt.drain(t, () => t + 400 * MS, sink, horizonMs * MS);
    expect(out).toEqual([[0, t + atMs * MS]]);
  });

  it.each([
    // [leadEarnedBy, the current rate's age (ms), reported at (ms from the build)]
    ['persisted', Infinity, 400], // no rate measured yet: only the earned lead and the horizon bound it
    ['persisted', 120, 120], // a rate seen for 120 ms is trusted 120 ms ahead, no further
    ['persisted', 10, 50], // never below the minimum lead
    ['persisted', 2000, 400], // a rate that has lasted: the prediction itself
    ['calm', 120, 400], // the age bounds nothing unless asked for
    ['verified', 120, 50], // (verified: nothing came true yet, so the minimum)
  ] as const)('clamp: leadEarnedBy %s with the rate %d ms old: a prediction 400 ms ahead is reported at +%d ms', (earnedBy, ageMs, atMs) => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, beyondLead: 'clamp', leadEarnedBy: earnedBy }, 0);
    const { sink, out } = collector();
    const t = 800 * MS; // 800 ms without a bad prediction
    rt.push(t - 1 * MS, 0, 7, sink);
    rt.drain(t, () => t + 400 * MS, sink, Infinity, ageMs * MS);
    expect(out).toEqual([[0, t + atMs * MS]]);
  });

  it('clamp: every packet is reported at the first build after its arrival, in order', () => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, beyondLead: 'clamp' }, 0);
    const { sink, out } = collector();
    rt.push(0, 0, 0, sink);
    const b = rt.push(1 * MS, 0, 1, sink);
    rt.push(2 * MS, 0, 2, sink);
    rt.departed(b, 3 * MS); // the first never left: dropped (FIFO)
    rt.drain(5 * MS, () => 500 * MS, sink);
    expect(out.map((x) => x[0])).toEqual([0, 1, 2]);
    expect(out.map((x) => x[1])).toEqual([null, 3 * MS, 55 * MS]); // the third clamped at now + 50 ms
    expect(rt.pending).toBe(0);
  });

  it('raises a time below the previous report to it', () => {
    const rt = new ReportTiming({}, 0);
    const { sink, out } = collector();
    rt.push(0, 0, 0, sink);
    const b = rt.push(1 * MS, 0, 1, sink);
    rt.drain(2 * MS, () => 30 * MS, sink); // packet 0 predicted at 30 ms; packet 1 too
    expect(out.map((x) => x[1])).toEqual([30 * MS, 30 * MS]);
    rt.departed(b, 31 * MS);
    const c = rt.push(3 * MS, 0, 2, sink);
    rt.departed(c, 20 * MS);
    rt.drain(40 * MS, noPrediction, sink);
    expect(out[2]?.[1]).toBe(30 * MS);
    expect(rt.counters.raisedToPrevious).toBe(1);
  });

  it('reports a dropped packet not received', () => {
    const rt = new ReportTiming({}, 0);
    const { sink, out } = collector();
    const a = rt.push(0, 0, 0, sink);
    rt.lost(a);
    rt.drain(1 * MS, noPrediction, sink);
    expect(out).toEqual([[0, null]]);
  });

  describe('drops known by departure order (the queue is FIFO for a transport)', () => {
    it('an older packet still queued when a later one leaves was dropped: reported lost if not reported yet', () => {
      const rt = new ReportTiming({}, 0);
      const { sink, out } = collector();
      rt.push(0, 0, 0, sink);
      const b = rt.push(1 * MS, 0, 0, sink);
      const repaired: number[] = [];
      rt.departed(b, 5 * MS, (slot) => repaired.push(slot));
      rt.drain(10 * MS, noPrediction, sink);
      expect(out).toEqual([
        [0, null],
        [1, 5 * MS],
      ]);
      expect(repaired).toEqual([]);
      expect(rt.counters.droppedBeforeReport).toBe(1);
    });

    it('one already reported received is handed over (to be repaired), once', () => {
      const rt = new ReportTiming({}, 0);
      const { sink, out } = collector();
      const a = rt.push(0, 0, 0, sink);
      const b = rt.push(1 * MS, 0, 1, sink);
      const c = rt.push(2 * MS, 0, 2, sink);
      rt.drain(3 * MS, () => 20 * MS, sink); // all three reported at a prediction
      expect(out.map((x) => x[1] !== null)).toEqual([true, true, true]);
      const repaired: number[] = [];
      rt.departed(a, 8 * MS, (slot) => repaired.push(slot));
      rt.departed(c, 9 * MS, (slot) => repaired.push(slot)); // b never left: dropped
      rt.departed(b, 10 * MS, (slot) => repaired.push(slot)); // (a late duplicate: nothing more)
      expect(repaired).toEqual([b & 0xffff]);
      expect(rt.counters.droppedAfterReport).toBe(1);
      expect(rt.counters.droppedBeforeReport).toBe(0);
    });

    it('a mark of loss after the report is not applied: the departure decides', () => {
      const rt = new ReportTiming({}, 0);
      const { sink } = collector();
      const a = rt.push(0, 0, 0, sink);
      const b = rt.push(1 * MS, 0, 1, sink);
      rt.drain(3 * MS, () => 20 * MS, sink);
      rt.lost(a); // a wrong guess: a leaves
      const repaired: number[] = [];
      rt.departed(a, 8 * MS, (slot) => repaired.push(slot));
      rt.departed(b, 9 * MS, (slot) => repaired.push(slot));
      expect(repaired).toEqual([]);
      expect(rt.counters.predictionsChecked).toBe(2);
    });

    it('a packet marked lost before its report that then leaves is reported at its departure', () => {
      const rt = new ReportTiming({}, 0);
      const { sink, out } = collector();
      const a = rt.push(0, 0, 0, sink);
      rt.lost(a);
      rt.departed(a, 4 * MS);
      rt.drain(10 * MS, noPrediction, sink);
      expect(out).toEqual([[0, 4 * MS]]);
    });
  });

  it('earns its lead while predictions hold and loses it at a bad one', () => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS }, 0);
    expect(rt.leadUs(10 * MS)).toBe(50 * MS);
    expect(rt.leadUs(300 * MS)).toBe(300 * MS);
    expect(rt.leadUs(5000 * MS)).toBe(1000 * MS);
    const { sink } = collector();
    const t = 2000 * MS;
    const a = rt.push(t, 0, 0, sink);
    rt.drain(t, () => t + 100 * MS, sink); // reported 100 ms ahead
    // departs 40 ms before the time reported: tolerance 5 ms + 25 % of 100 ms = 30 ms -> bad (reported late)
    rt.departed(a, t + 60 * MS);
    expect(rt.counters.predictionsBad).toBe(1);
    expect(rt.leadUs(t + 60 * MS)).toBe(50 * MS);
  });

  it('counts a good prediction without touching the lead', () => {
    const rt = new ReportTiming({}, 0);
    const { sink } = collector();
    const t = 2000 * MS;
    const a = rt.push(t, 0, 0, sink);
    rt.drain(t, () => t + 100 * MS, sink);
    rt.departed(a, t + 120 * MS);
    expect(rt.counters.predictionsChecked).toBe(1);
    expect(rt.counters.predictionsBad).toBe(0);
    expect(rt.leadUs(t + 120 * MS)).toBe(1000 * MS);
  });

  it('an early report is not a bad one: the departures that follow correct it', () => {
    const rt = new ReportTiming({}, 0);
    const { sink } = collector();
    const t = 2000 * MS;
    const a = rt.push(t, 0, 0, sink);
    rt.drain(t, () => t + 20 * MS, sink);
    rt.drain(t + 300 * MS, noPrediction, sink); // still queued long after the time reported
    rt.departed(a, t + 400 * MS);
    expect(rt.counters.predictionsChecked).toBe(1);
    expect(rt.counters.predictionsBad).toBe(0);
    expect(rt.leadUs(t + 400 * MS)).toBe(1000 * MS);
  });

  describe("leadEarnedBy 'verified': calm time alone earns no long lead", () => {
    it('after 2 s with every packet leaving at once, the lead is the minimum (calm: the maximum)', () => {
      const t = 2000 * MS;
      const leads: Record<string, number> = {};
      for (const by of ['calm', 'verified'] as const) {
        const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, leadEarnedBy: by }, 0);
        const { sink } = collector();
        for (let k = 0; k < 100; k++) {
          const a = rt.push(k * 20 * MS, 0, 0, sink);
          rt.departed(a, k * 20 * MS);
          rt.drain(k * 20 * MS + MS, noPrediction, sink);
        }
        leads[by] = rt.leadUs(t);
      }
      expect(leads).toEqual({ calm: 1000 * MS, verified: 50 * MS });
    });

    it('doubles each time a prediction reported at the whole lead comes true: 50, 100, 200, 400, 800, 1000 ms', () => {
      const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, leadEarnedBy: 'verified' }, 0);
      const { sink } = collector();
      let t = 5000 * MS;
      const leads: number[] = [];
      for (let k = 0; k < 6; k++) {
        const lead = rt.leadUs(t);
        leads.push(lead / MS);
        const a = rt.push(t, 0, 0, sink);
        rt.drain(t, () => t + 5000 * MS, sink); // predicted far ahead: reported at now + lead (clamp)
        rt.departed(a, t + lead + 10 * MS); // left just after the time reported: came true (early)
        t += lead + 20 * MS;
      }
      expect(leads).toEqual([50, 100, 200, 400, 800, 1000]);
      expect(rt.counters.predictionsBad).toBe(0);
    });

    it('a bad prediction forgets what was verified', () => {
      const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, leadEarnedBy: 'verified' }, 0);
      const { sink } = collector();
      const t = 5000 * MS;
      const a = rt.push(t, 0, 0, sink);
      rt.drain(t, () => t + 50 * MS, sink);
      rt.departed(a, t + 50 * MS);
      expect(rt.leadUs(t + 1000 * MS)).toBe(100 * MS);
      const b = rt.push(t + 1000 * MS, 0, 0, sink);
      rt.drain(t + 1000 * MS, () => t + 1100 * MS, sink); // reported 100 ms ahead, leaves at once: bad
      rt.departed(b, t + 1001 * MS);
      expect(rt.counters.predictionsBad).toBe(1);
      expect(rt.leadUs(t + 3000 * MS)).toBe(50 * MS);
    });
  });

  it.each([
    // unpredicted: what happens to a queued packet whose departure cannot be predicted now
    ['atArrival', [[0, 40 * MS], [1, 41 * MS]], 0],
    ['wait', [], 1],
  ] as const)("unpredicted '%s': a queued packet without a prediction now", (unpredicted, want, waits) => {
    const rt = new ReportTiming({ unpredicted }, 0);
    const { sink, out } = collector();
    const a = rt.push(0, 40 * MS, 0, sink);
    rt.push(1 * MS, 40 * MS, 0, sink);
    rt.drain(10 * MS, noPrediction, sink);
    expect(out).toEqual(want);
    expect(rt.counters.waitedUnpredicted).toBe(waits);
    // once it leaves, it is reported at its departure (and the one behind it waits again)
    rt.departed(a, 300 * MS);
    rt.drain(310 * MS, noPrediction, sink);
    if (unpredicted === 'wait') expect(out).toEqual([[0, 300 * MS]]);
  });

  it("unpredicted 'wait': at most maxWaitUs, then reported (at its prediction at arrival, not before now: it is still queued)", () => {
    const rt = new ReportTiming({ unpredicted: 'wait', maxWaitUs: 1000 * MS }, 0);
    const { sink, out } = collector();
    rt.push(0, 40 * MS, 0, sink);
    rt.push(500 * MS, 40 * MS, 0, sink);
    rt.drain(999 * MS, noPrediction, sink);
    expect(out).toEqual([]);
    rt.drain(1000 * MS, noPrediction, sink); // the first has waited 1 s; the second still waits
    expect(out).toEqual([[0, 1000 * MS]]);
    rt.drain(1500 * MS, noPrediction, sink);
    expect(out).toEqual([
      [0, 1000 * MS],
      [1, 1500 * MS],
    ]);
  });

  it('lateSumUs: delay reported that never happened, from a late prediction and from raising a departure to it', () => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS }, 0);
    const { sink, out } = collector();
    const t = 2000 * MS;
    const a = rt.push(t, 0, 0, sink);
    rt.drain(t, () => t + 300 * MS, sink); // reported 300 ms ahead
    const b = rt.push(t + 10 * MS, 0, 0, sink);
    rt.departed(a, t + 100 * MS); // left 200 ms before the time reported
    rt.departed(b, t + 110 * MS);
    rt.drain(t + 150 * MS, noPrediction, sink); // b raised to a's 300 ms: 190 ms late
    expect(out.map((x) => x[1])).toEqual([t + 300 * MS, t + 300 * MS]);
    expect(rt.counters.lateSumUs).toBe(200 * MS + 190 * MS);
  });

  it('reports the oldest packet early when the table is full', () => {
    const rt = new ReportTiming({ capacity: 4 }, 0);
    const { sink, out } = collector();
    for (let k = 0; k < 5; k++) rt.push(k * MS, 1 * MS, k, sink);
    expect(out).toEqual([[0, 1 * MS]]);
    expect(rt.counters.overflow).toBe(1);
    expect(rt.pending).toBe(4);
  });

  it('property: every packet is reported once, in order, at non-decreasing times', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gapUs: fc.integer({ min: 0, max: 20_000 }), sojournUs: fc.integer({ min: 0, max: 400_000 }), drop: fc.boolean(), predErrUs: fc.integer({ min: -100_000, max: 100_000 }) }), { minLength: 1, maxLength: 200 }),
        (pkts) => {
          const rt = new ReportTiming({ capacity: 512 }, 0);
          const seen: number[] = [];
          const times: number[] = [];
          const slotSeq = new Map<number, number>();
          const sink: ReportSink = (slot, t) => {
            seen.push(slotSeq.get(slot) ?? -1);
            if (t !== null) times.push(t);
          };
          // a FIFO link: departures in order
          let t = 0;
          let free = 0;
          const events: Array<{ t: number; k: number; handle: number; drop: boolean }> = [];
          const departAt: number[] = [];
          pkts.forEach((p, k) => {
            t += p.gapUs;
            free = Math.max(free, t) + p.sojournUs / 10;
            departAt.push(free);
            const h = rt.push(t, p.sojournUs, k, sink);
            slotSeq.set(h & 0xffff, k);
            events.push({ t: free, k, handle: h, drop: p.drop });
            // builds every 50 ms up to now, with departures due by then
            while (events.length > 0 && (events[0]?.t ?? Infinity) <= t) {
              const e = events.shift();
              if (e === undefined) break;
              if (e.drop) rt.lost(e.handle);
              else rt.departed(e.handle, e.t);
            }
            rt.drain(t, (pos) => (departAt[pos] ?? t) + (pkts[pos]?.predErrUs ?? 0), sink);
          });
          for (const e of events) {
            if (e.drop) rt.lost(e.handle);
            else rt.departed(e.handle, e.t);
          }
          rt.drain(t + 10_000_000, noPrediction, sink);
          expect(seen).toEqual(pkts.map((_, k) => k));
          for (let k = 1; k < times.length; k++) expect(times[k]).toBeGreaterThanOrEqual(times[k - 1] ?? 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('ReportTiming rule 6: spacing of bunched reports', () => {
  it.each([
    // spacing, reported (ms from the build) of five queued packets predicted 200 + 17 k ms ahead, lead 50 ms
    ['stack', [50, 50, 50, 50, 50]],
    ['link', [50, 67, 84, 101, 118]],
  ] as const)('clamped burst with spacing %s: reported at %j ms', (spacing, atMs) => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, beyondLead: 'clamp', spacing }, 0);
    const { sink, out } = collector();
    for (let k = 0; k < 5; k++) rt.push(k * MS, 0, k, sink);
    const t = 5 * MS;
    rt.drain(t, (pos) => t + (200 + 17 * pos) * MS, sink);
    expect(out.map((x) => ((x[1] ?? 0) - t) / MS)).toEqual(atMs);
    expect(rt.counters.reportedClamped).toBe(5);
  });

  it('link: a clamped report is never later than its own prediction', () => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, beyondLead: 'clamp', spacing: 'link' }, 0);
    const { sink, out } = collector();
    for (let k = 0; k < 3; k++) rt.push(k * MS, 0, k, sink);
    const t = 3 * MS;
    // predicted 60, 61 and 200 ms ahead: the second lies within one gap of the first
    const pred = [60, 61, 200];
    rt.drain(t, (pos) => t + (pred[pos] ?? 0) * MS, sink);
    expect(out.map((x) => ((x[1] ?? 0) - t) / MS)).toEqual([50, 51, 190]);
  });

  it.each([
    // spacing, reported (ms after T) of three packets that left after a prediction came late
    ['stack', [100, 100, 100]],
    ['link', [100, 108.5, 117]],
  ] as const)('departures below a late report with spacing %s: reported at %j ms', (spacing, atMs) => {
    const T = 1000 * MS;
    const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, beyondLead: 'clamp', spacing }, 0);
    const { sink, out } = collector();
    const a = rt.push(T - 10 * MS, 0, 0, sink);
    rt.drain(T, () => T + 100 * MS, sink); // predicted 100 ms ahead, within the earned lead
    const bs = [1, 2, 3].map((k) => rt.push(T + k * MS, 0, k, sink));
    rt.departed(a, T + 30 * MS);
    bs.forEach((h, k) => rt.departed(h, T + (40 + 17 * k) * MS));
    rt.drain(T + 200 * MS, noPrediction, sink);
    expect(out.slice(1).map((x) => ((x[1] ?? 0) - T) / MS)).toEqual(atMs);
  });

  it('link: reported times never run backwards (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 40 }), aheadMs: fc.integer({ min: 0, max: 600 }), leaves: fc.boolean(), depMs: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 60 }),
        (steps) => {
          const rt = new ReportTiming({ minLeadUs: 50 * MS, beyondLead: 'clamp', spacing: 'link' }, 0);
          const { sink, out } = collector();
          let t = 0;
          for (const [k, s] of steps.entries()) {
            t += s.gapMs * MS;
            const h = rt.push(t, 0, k, sink);
            if (s.leaves) rt.departed(h, t + s.depMs * MS);
            rt.drain(t, (pos) => t + (steps[pos]?.aheadMs ?? 0) * MS, sink);
          }
          const times = out.map((x) => x[1]).filter((x): x is number => x !== null);
          for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('ReportTiming rule 7: a reported sojourn bounded by the observed ones', () => {
  it.each([
    // cap, last observed sojourn (ms), prediction (ms after arrival), expected report (ms after arrival)
    ['none', 100, 700, 700],
    ['sojourn', 100, 700, 200], // 2 x 100 ms
    ['sojourn', 100, 150, 150], // within the cap: as predicted
    ['sojourn', 300, 700, 600],
  ] as const)('cap %s, last sojourn %d ms, predicted %d ms: reported %d ms after arrival', (sojournCap, lastMs, predMs, atMs) => {
    const T = 2000 * MS; // a lead of up to 1 s is earned by then
    const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, beyondLead: 'clamp', sojournCap }, 0);
    const { sink, out } = collector();
    const a = rt.push(T - lastMs * MS - 10 * MS, 0, 0, sink);
    rt.departed(a, T - 10 * MS); // observed sojourn: lastMs
    const arr = T - 5 * MS;
    rt.push(arr, 0, 1, sink);
    rt.drain(T, () => arr + predMs * MS, sink);
    expect(((out.at(-1)?.[1] ?? 0) - arr) / MS).toBe(atMs);
    expect(rt.counters.reportedCapped).toBe(sojournCap === 'sojourn' && predMs > 2 * lastMs ? 1 : 0);
  });

  it("sojourn: a packet that has waited longer than the last observed sojourn is capped at twice its own wait", () => {
    const rt = new ReportTiming({ minLeadUs: 50 * MS, maxLeadUs: 1000 * MS, beyondLead: 'clamp', sojournCap: 'sojourn' }, 0);
    const { sink, out } = collector();
    const arr = 1000 * MS;
    rt.push(arr, 0, 0, sink); // no departure seen yet (last sojourn 0); waits 300 ms
    rt.drain(arr + 300 * MS, () => arr + 2000 * MS, sink);
    expect(((out[0]?.[1] ?? 0) - arr) / MS).toBe(600);
  });
});
