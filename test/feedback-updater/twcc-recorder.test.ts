import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TwccFeedback } from '../../src/protocols/feedback-types.js';
import { parseTwcc, serializeTwcc } from '../../src/protocols/rtcp/index.js';
import { SeqUnwrapper } from '../../src/feedback-updater/seq-tracker.js';
import { TwccRecorder } from '../../src/feedback-updater/twcc-recorder.js';

/** Independent reconstruction: reference x 64 ms + running sum of 250 µs deltas. */
function arrivals(fb: TwccFeedback): Array<{ seq: number; tUs: number | null }> {
  let t = fb.referenceTime64ms * 64_000;
  return fb.deltas.map((d, i) => {
    const seq = (fb.baseSeq + i) & 0xffff;
    if (d === null) return { seq, tUs: null };
    t += d * 250;
    return { seq, tUs: t };
  });
}

/** Upper bound of a feedback's wire size, as the recorder documents it (1 chunk per 7 statuses). */
function boundBytes(fb: TwccFeedback): number {
  const deltaBytes = fb.deltas.reduce<number>((s, d) => s + (d === null ? 0 : d >= 0 && d <= 255 ? 1 : 2), 0);
  return (20 + 2 * Math.ceil(fb.deltas.length / 7) + deltaBytes + 3) & ~3;
}

describe('SeqUnwrapper', () => {
  it.each([
    [[65534, 65535, 0, 1], [65534, 65535, 65536, 65537]],
    [[5, 3, 65535, 2], [5, 3, -1, 2]],
    [[0, 32767, 65535], [0, 32767, 65535]], // exactly half-way, value grew: forward
    [[65535, 32767], [65535, 32767]], // exactly half-way, value fell: backward
    [[40000, 100, 30000], [40000, 65636, 95536]],
    [[40000, 100, 40000], [40000, 65636, 40000]],
  ])('%j -> %j', (input, expected) => {
    const u = new SeqUnwrapper();
    expect(input.map((s) => u.unwrap(s))).toEqual(expected);
  });
});

describe('TwccRecorder', () => {
  it('reports a contiguous run once, within the 250 µs quantum, and counts feedback packets', () => {
    const r = new TwccRecorder();
    const t0 = 1_234_567_891;
    const recorded = new Map<number, number>();
    for (let i = 0; i < 20; i++) {
      const t = t0 + i * 1333 + (i % 3) * 77;
      r.record(100 + i, t);
      recorded.set(100 + i, t);
    }
    const fbs = r.build(t0 + 50_000, 0x11111111, 0x22222222);
    expect(fbs).toHaveLength(1);
    const fb = fbs[0]!;
    expect(fb).toMatchObject({ senderSsrc: 0x11111111, mediaSsrc: 0x22222222, baseSeq: 100, fbPktCount: 0 });
    expect(fb.referenceTime64ms).toBe(Math.floor(t0 / 64_000));
    for (const { seq, tUs } of arrivals(fb)) {
      expect(tUs).not.toBeNull();
      expect(Math.abs((tUs ?? 0) - (recorded.get(seq) ?? 0))).toBeLessThanOrEqual(125);
    }
    expect(r.build(t0 + 100_000, 1, 2)).toEqual([]);
    r.record(120, t0 + 30_000);
    expect(r.build(t0 + 150_000, 1, 2)[0]).toMatchObject({ baseSeq: 120, fbPktCount: 1 });
  });

  it('handles the 16-bit wrap inside one feedback', () => {
    const r = new TwccRecorder();
    for (let i = 0; i < 12; i++) r.record((65530 + i) & 0xffff, 1_000_000 + i * 1000);
    const [fb, ...rest] = r.build(2_000_000, 1, 2);
    expect(rest).toEqual([]);
    expect(fb?.baseSeq).toBe(65530);
    expect(fb?.deltas).toHaveLength(12);
    expect(fb?.deltas[0]).toBe((1_000_000 % 64_000) / 250); // first: from the 64 ms reference
    expect(fb?.deltas.slice(1).every((d) => d === 4)).toBe(true); // then 1 ms = 4 ticks
  });

  it('reports gaps as not received', () => {
    const r = new TwccRecorder();
    r.record(1, 64_000);
    r.record(2, 65_000);
    r.record(5, 66_000);
    const [fb] = r.build(70_000, 1, 2);
    expect(fb?.baseSeq).toBe(1);
    expect(fb?.deltas).toEqual([0, 4, null, null, 4]);
  });

  it('reports a packet recorded after being reported missing once, in a late-only feedback', () => {
    const r = new TwccRecorder();
    r.record(10, 640_000);
    r.record(12, 642_000);
    expect(r.build(650_000, 1, 2)[0]?.deltas).toEqual([0, null, 8]);
    r.record(11, 641_000); // late
    r.record(13, 643_000);
    const fbs = r.build(660_000, 1, 2);
    expect(fbs.map((f) => [f.baseSeq, f.deltas.length, f.fbPktCount])).toEqual([
      [11, 1, 1],
      [13, 1, 2],
    ]);
    expect(arrivals(fbs[0]!)[0]?.tUs).toBe(641_000);
    r.record(11, 641_500); // duplicate of an already-reported-received packet: ignored
    expect(r.build(670_000, 1, 2)).toEqual([]);
    expect(r.stats.duplicates).toBe(1);
    expect(r.stats.late).toBe(1);
  });

  it('drops late packets whose predicted arrival is older than maxAgeMs', () => {
    const r = new TwccRecorder({ maxAgeMs: 100 });
    r.record(0, 0);
    r.record(2, 2000);
    r.build(5000, 1, 2);
    r.record(1, 1000);
    expect(r.build(200_000, 1, 2)).toEqual([]);
    expect(r.stats.dropped).toBe(1);
  });

  it('encodes non-monotonic predicted arrivals as negative (large) deltas', () => {
    const r = new TwccRecorder();
    const times = [1_000_000, 1_004_000, 1_001_000, 1_001_250, 999_000];
    times.forEach((t, i) => r.record(i, t));
    const [fb] = r.build(2_000_000, 1, 2);
    const back = arrivals(fb!).map((a) => a.tUs);
    back.forEach((t, i) => expect(Math.abs((t ?? 0) - (times[i] ?? 0))).toBeLessThanOrEqual(125));
    expect(fb?.deltas.some((d) => d !== null && d < 0)).toBe(true);
  });

  it('starts a new feedback packet when a delta does not fit int16', () => {
    const r = new TwccRecorder();
    r.record(0, 1_000_000);
    r.record(1, 1_001_000);
    r.record(2, 1_001_000 + 9_000_000); // +9 s > 8.19 s
    const fbs = r.build(20_000_000, 1, 2);
    expect(fbs.map((f) => [f.baseSeq, f.deltas.length])).toEqual([
      [0, 2],
      [2, 1],
    ]);
    expect(Math.abs((arrivals(fbs[1]!)[0]?.tUs ?? 0) - 10_001_000)).toBeLessThanOrEqual(125);
  });

  it('splits by size; every packet stays under the limit and survives serialize -> parse', () => {
    const r = new TwccRecorder({ maxPacketBytes: 64 });
    for (let i = 0; i < 200; i++) if (i % 5 !== 3) r.record(i, 5_000_000 + i * 700 + (i % 4 === 0 ? 90_000 : 0));
    const fbs = r.build(6_000_000, 0xdeadbeef, 0xcafebabe);
    expect(fbs.length).toBeGreaterThan(3);
    let covered = 0;
    for (const fb of fbs) {
      expect(boundBytes(fb)).toBeLessThanOrEqual(64);
      const bytes = serializeTwcc(fb);
      expect(bytes.length).toBeLessThanOrEqual(64);
      expect(parseTwcc(bytes, 0, bytes.length)).toEqual(fb);
      expect(fb.baseSeq).toBe(covered);
      covered += fb.deltas.length;
    }
    expect(covered).toBe(200);
    expect(fbs.map((f) => f.fbPktCount)).toEqual(fbs.map((_, i) => i));
  });

  it('writes the reference time as the wire\'s signed 24-bit value', () => {
    const r = new TwccRecorder();
    const ticks = 0x800000 + 5; // past 2^23 x 64 ms: wraps to negative
    r.record(0, ticks * 64_000 + 1000);
    const [fb] = r.build(0, 1, 2);
    expect(fb?.referenceTime64ms).toBe(5 - 0x800000);
    const bytes = serializeTwcc(fb!);
    expect(parseTwcc(bytes, 0, bytes.length).referenceTime64ms).toBe(5 - 0x800000);
  });

  it('bounds the pending range: a huge forward jump drops the oldest unreported numbers', () => {
    const r = new TwccRecorder({ maxRange: 100 });
    r.record(0, 0);
    r.record(1, 1000);
    r.record(150, 2000);
    const fbs = r.build(3000, 1, 2);
    expect(fbs[0]?.baseSeq).toBe(51);
    expect(fbs.reduce((s, f) => s + f.deltas.length, 0)).toBe(100);
    expect(r.stats.dropped).toBe(2);
  });

  it('property: every recorded packet is reported received exactly once, within 125 µs, gaps as lost', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(
          fc.record({
            step: fc.integer({ min: -3, max: 4 }), // reordering, duplicates, gaps
            dtUs: fc.integer({ min: -20_000, max: 20_000 }),
            build: fc.boolean(),
          }),
          { minLength: 1, maxLength: 150 },
        ),
        (start, steps) => {
          const maxBytes = 80 + (start % 200);
          const r = new TwccRecorder({ maxPacketBytes: maxBytes });
          const firstArrival = new Map<number, number>(); // ext -> first recorded arrival
          const reportedReceived = new Map<number, number>();
          const reportedAny = new Set<number>();
          const u = new SeqUnwrapper();
          // the test's sequence numbers stay within start +- 600: map a 16-bit value to that range
          const toExt = (seq16: number): number => {
            let d = (seq16 - start) & 0xffff;
            if (d >= 0x8000) d -= 0x10000;
            return start + d;
          };
          let ext = start;
          let offset: number | undefined;
          let t = 10_000_000;
          const collect = (fbs: TwccFeedback[]): boolean => {
            for (const fb of fbs) {
              const bytes = serializeTwcc(fb);
              if (bytes.length > maxBytes || boundBytes(fb) > maxBytes) return false;
              expect(parseTwcc(bytes, 0, bytes.length)).toEqual(fb);
              for (const { seq, tUs } of arrivals(fb)) {
                const e = toExt(seq);
                reportedAny.add(e);
                if (tUs === null) continue;
                if (reportedReceived.has(e)) return false;
                reportedReceived.set(e, tUs);
              }
            }
            return true;
          };
          for (const s of steps) {
            ext += s.step;
            t += s.dtUs;
            const seq16 = ((ext % 65536) + 65536) % 65536;
            const unwrapped = u.unwrap(seq16);
            offset ??= unwrapped - ext;
            if (unwrapped - ext !== offset) return false; // the unwrapper follows the true sequence
            const e = ext;
            if (!firstArrival.has(e)) firstArrival.set(e, t);
            r.record(seq16, t);
            if (s.build && !collect(r.build(t, 1, 2))) return false;
          }
          if (!collect(r.build(t, 1, 2))) return false;
          // Reported received exactly the recorded set, at the first recorded arrival (±125 µs)
          // (late packets in these runs are at most 20 ms x 150 old, far below maxAgeMs).
          if (reportedReceived.size !== firstArrival.size) return false;
          for (const [e, tUs] of firstArrival) {
            const got = reportedReceived.get(e);
            if (got === undefined || Math.abs(got - tUs) > 125 + 1e-6) return false;
          }
          // every number between the smallest and largest recorded was reported (received or lost)
          const keys = [...firstArrival.keys()];
          for (let e = Math.min(...keys); e <= Math.max(...keys); e++) if (!reportedAny.has(e)) return false;
          return true;
        },
      ),
      { numRuns: 400 },
    );
  });
});
