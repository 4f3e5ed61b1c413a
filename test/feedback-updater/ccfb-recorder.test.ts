import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CcfbReport } from '../../src/protocols/feedback-types.js';
import { parseCcfb, serializeCcfb } from '../../src/protocols/rtcp/index.js';
import { CcfbRecorder } from '../../src/feedback-updater/ccfb-recorder.js';

/** µs instant the report's RTS stands for, given the (nowUs, nowNtp32) mapping used to build it. */
function rtsUs(report: CcfbReport, nowUs: number, nowNtp32: number): number {
  const ahead = (report.reportTimestampNtp32 - nowNtp32 + 0x100000000) % 0x100000000;
  return nowUs + (ahead * 1e6) / 65536;
}

/** Independent decoding: per (ssrc, seq16) the arrival the metric states (null = not received). */
function decode(report: CcfbReport, nowUs: number, nowNtp32: number): Map<string, { tUs: number | null; ecn: number; ato: number }> {
  const rts = rtsUs(report, nowUs, nowNtp32);
  const out = new Map<string, { tUs: number | null; ecn: number; ato: number }>();
  for (const b of report.streams) {
    b.metrics.forEach((m, i) => {
      const key = `${b.ssrc}:${(b.beginSeq + i) & 0xffff}`;
      out.set(key, { tUs: m.received ? rts - (m.atoUnits * 1e6) / 1024 : null, ecn: m.ecn, ato: m.atoUnits });
    });
  }
  return out;
}

const NOW = 50_000_000;
const NTP = 0x12345678;

describe('CcfbRecorder', () => {
  it('builds one block per SSRC with begin_seq, gaps as not received, ATO within 1/1024 s', () => {
    const r = new CcfbRecorder();
    const recorded = new Map<string, { tUs: number; ecn: number }>();
    const rec = (ssrc: number, seq: number, tUs: number, ecn: number): void => {
      r.record(ssrc, seq, tUs, ecn);
      recorded.set(`${ssrc}:${seq}`, { tUs, ecn });
    };
    rec(0xaaaa0001, 100, NOW - 40_000, 0);
    rec(0xbbbb0002, 7, NOW - 39_000, 1);
    rec(0xaaaa0001, 101, NOW - 30_123, 2);
    rec(0xaaaa0001, 104, NOW - 20_777, 3); // 102, 103 missing
    rec(0xbbbb0002, 8, NOW - 10_001, 1);
    const reports = r.build(NOW, 0x5e4de4, NTP);
    expect(reports).toHaveLength(1);
    const rep = reports[0]!;
    expect(rep.senderSsrc).toBe(0x5e4de4);
    expect(rep.streams.map((b) => [b.ssrc, b.beginSeq, b.metrics.length])).toEqual([
      [0xaaaa0001, 100, 5],
      [0xbbbb0002, 7, 2],
    ]);
    expect(rep.streams[0]?.metrics[2]).toEqual({ received: false, ecn: 0, atoUnits: 0 });
    expect(rep.streams[0]?.metrics[3]).toEqual({ received: false, ecn: 0, atoUnits: 0 });
    const got = decode(rep, NOW, NTP);
    for (const [key, want] of recorded) {
      const g = got.get(key);
      expect(g?.ecn).toBe(want.ecn);
      expect(Math.abs((g?.tUs ?? Infinity) - want.tUs)).toBeLessThanOrEqual(1e6 / 1024);
    }
    // RTS is "now" when every prediction is in the past (rounded up to 1/65536 s)
    expect(rtsUs(rep, NOW, NTP) - NOW).toBeGreaterThanOrEqual(0);
    expect(rtsUs(rep, NOW, NTP) - NOW).toBeLessThan(1e6 / 65536);
    expect(r.build(NOW + 1000, 1, NTP)).toEqual([]); // each packet once
  });

  it('moves the report timestamp to the latest predicted arrival so no ATO is "unavailable"', () => {
    const r = new CcfbRecorder();
    r.record(1, 0, NOW + 5_000, 0);
    r.record(1, 1, NOW + 42_500, 0); // predicted to arrive 42.5 ms from now
    const [rep] = r.build(NOW, 9, NTP);
    const rts = rtsUs(rep!, NOW, NTP);
    expect(rts).toBeGreaterThanOrEqual(NOW + 42_500);
    expect(rts - (NOW + 42_500)).toBeLessThan(1e6 / 65536);
    expect(rep?.streams[0]?.metrics.map((m) => m.atoUnits)).toEqual([
      Math.round(((rts - NOW - 5_000) * 1024) / 1e6),
      0,
    ]);
  });

  it('reports over-range offsets as 0x1FFE and handles 16-bit wrap per stream', () => {
    const r = new CcfbRecorder({ maxAgeMs: 60_000 });
    r.record(3, 65535, NOW - 9_000_000, 0); // 9 s before: over range
    r.record(3, 0, NOW - 1_000, 0);
    const [rep] = r.build(NOW, 9, NTP);
    expect(rep?.streams[0]?.beginSeq).toBe(65535);
    expect(rep?.streams[0]?.metrics.map((m) => m.atoUnits)).toEqual([0x1ffe, Math.round((1_000 * 1024) / 1e6)]);
  });

  it('without an NTP mapping uses the µs clock as the time base', () => {
    const r = new CcfbRecorder();
    r.record(1, 0, NOW - 500, 0);
    const [rep] = r.build(NOW, 9);
    expect(rep?.reportTimestampNtp32).toBe(Math.ceil((NOW * 65536) / 1e6) % 0x100000000);
  });

  it('reports a late packet once, in its own block, after its number was reported lost', () => {
    const r = new CcfbRecorder();
    r.record(1, 10, NOW - 3000, 0);
    r.record(1, 12, NOW - 1000, 0);
    r.build(NOW, 9, NTP);
    r.record(1, 11, NOW - 2000, 2);
    r.record(1, 13, NOW + 500, 0);
    const [rep] = r.build(NOW + 1000, 9, NTP);
    expect(rep?.streams.map((b) => [b.ssrc, b.beginSeq, b.metrics.length])).toEqual([
      [1, 11, 1],
      [1, 13, 1],
    ]);
    expect(rep?.streams[0]?.metrics[0]?.ecn).toBe(2);
  });

  it('splits across reports under the size limit; each report survives serialize -> parse', () => {
    const r = new CcfbRecorder({ maxPacketBytes: 64 });
    for (let i = 0; i < 90; i++) if (i % 9 !== 4) r.record(i < 45 ? 7 : 8, i, NOW - 90_000 + i * 1000, i & 3);
    const reports = r.build(NOW, 9, NTP);
    expect(reports.length).toBeGreaterThan(3);
    const seen = new Map<number, number>();
    for (const rep of reports) {
      const bytes = serializeCcfb(rep);
      expect(bytes.length).toBeLessThanOrEqual(64);
      expect(parseCcfb(bytes, 0, bytes.length)).toEqual(rep);
      for (const b of rep.streams) {
        expect(b.beginSeq).toBe(seen.get(b.ssrc) ?? (b.ssrc === 7 ? 0 : 45));
        seen.set(b.ssrc, b.beginSeq + b.metrics.length);
      }
    }
    expect([...seen.entries()].sort()).toEqual([
      [7, 45],
      [8, 90],
    ]);
  });

  it('property: every recorded packet reported received once, per SSRC, ATO within 1/1024 s', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ssrc: fc.constantFrom(1, 2, 0xffffffff),
            step: fc.integer({ min: -2, max: 3 }),
            dtUs: fc.integer({ min: -5000, max: 20_000 }),
            ecn: fc.integer({ min: 0, max: 3 }),
            build: fc.boolean(),
          }),
          { minLength: 1, maxLength: 120 },
        ),
        fc.integer({ min: 40, max: 400 }),
        (steps, maxBytes) => {
          const r = new CcfbRecorder({ maxPacketBytes: maxBytes });
          const seq = new Map<number, number>();
          const first = new Map<string, { tUs: number; ecn: number }>();
          const reported = new Set<string>();
          let t = NOW;
          const collect = (reports: CcfbReport[], nowUs: number): boolean => {
            for (const rep of reports) {
              const bytes = serializeCcfb(rep);
              if (bytes.length > maxBytes) return false;
              expect(parseCcfb(bytes, 0, bytes.length)).toEqual(rep);
              for (const [key, g] of decode(rep, nowUs, NTP)) {
                if (g.tUs === null) continue;
                if (reported.has(key)) return false;
                reported.add(key);
                const want = first.get(key);
                if (want === undefined || want.ecn !== g.ecn || Math.abs(want.tUs - g.tUs) > 1e6 / 2048 + 1e-6) return false;
              }
            }
            return true;
          };
          for (const s of steps) {
            const q = ((seq.get(s.ssrc) ?? 65534) + s.step + 65536) % 65536;
            seq.set(s.ssrc, q);
            t += s.dtUs;
            const key = `${s.ssrc}:${q}`;
            if (!first.has(key)) first.set(key, { tUs: t, ecn: s.ecn });
            r.record(s.ssrc, q, t, s.ecn);
            if (s.build && !collect(r.build(t, 9, NTP), t)) return false;
          }
          if (!collect(r.build(t, 9, NTP), t)) return false;
          return reported.size === first.size;
        },
      ),
      { numRuns: 300 },
    );
  });
});
