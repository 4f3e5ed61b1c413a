/**
 * The ngtcp2 0.12.1 qlog parser of testbed/quic.ts, on excerpts recorded from a real download
 * on the netns testbed (gtlsserver/gtlsclient, 30 Mbit/s, 40 ms base RTT): the server's qlog
 * (header, handshake records, RTT samples) and the client's (STREAM frames received, the last
 * record cut in half as when a killed client leaves a partial buffer).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dedupeMetrics, parseNgtcp2Qlog } from '../../testbed/quic.js';
import { summarizeQuicTrial } from '../../testbed/quic-experiment.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseNgtcp2Qlog', () => {
  it('reads the server qlog: vantage point and RTT samples (latest_rtt 0 records skipped)', () => {
    const q = parseNgtcp2Qlog(fixture('ngtcp2-0.12.1-server.sqlog'));
    expect(q.vantagePoint).toBe('server');
    expect(q.badRecords).toBe(0);
    // the handshake-time records (latest_rtt 0, initial smoothed_rtt 333) are skipped; 18 carry a sample
    expect(q.metrics).toHaveLength(18);
    expect(q.metrics[0]).toEqual({ tMs: 43, latestRttMs: 42, smoothedRttMs: 42, minRttMs: 42, rttVarianceMs: 21, cwndBytes: 14686, bytesInFlight: 1034 });
    expect(q.metrics.at(-1)).toMatchObject({ tMs: 301, latestRttMs: 52, smoothedRttMs: 51, minRttMs: 41, cwndBytes: 336830 });
    // the server received CRYPTO frames only
    expect(q.streamRx).toEqual([]);
  });

  it('dedupeMetrics keeps one record per (time, latest, smoothed) run', () => {
    const d = dedupeMetrics(parseNgtcp2Qlog(fixture('ngtcp2-0.12.1-server.sqlog')).metrics);
    expect(d.map((m) => [m.tMs, m.latestRttMs, m.smoothedRttMs])).toEqual([
      [43, 42, 42],
      [48, 47, 43],
      [50, 47, 43],
      [301, 52, 51],
    ]);
  });

  it('reads the client qlog: STREAM frames received; a truncated tail is counted, not thrown', () => {
    const q = parseNgtcp2Qlog(fixture('ngtcp2-0.12.1-client.sqlog'));
    expect(q.vantagePoint).toBe('client');
    expect(q.badRecords).toBe(1);
    expect(q.metrics).toEqual([]);
    expect(q.streamRx).toHaveLength(6);
    expect(q.streamRx[0]).toEqual({ tMs: 274, streamId: 0, offset: 274452, length: 1401 });
    // the frame after an ACK frame in the same packet
    expect(q.streamRx[2]).toEqual({ tMs: 275, streamId: 0, offset: 277254, length: 1393 });
    expect(Math.max(...q.streamRx.map((f) => f.offset + f.length))).toBe(282850);
  });

  it('accepts newline-separated records (no RS) with the same result', () => {
    const text = fixture('ngtcp2-0.12.1-server.sqlog');
    expect(parseNgtcp2Qlog(text.replaceAll('\x1e', '\n'))).toEqual(parseNgtcp2Qlog(text));
  });

  it('never throws on truncated or mutated input', () => {
    const text = fixture('ngtcp2-0.12.1-client.sqlog') + fixture('ngtcp2-0.12.1-server.sqlog');
    fc.assert(
      fc.property(fc.nat(text.length), fc.nat(text.length), fc.string({ maxLength: 8 }), (a, b, junk) => {
        const cut = text.slice(0, Math.max(a, b)) + junk + text.slice(Math.max(a, b), Math.max(a, b) + Math.min(a, b));
        const q = parseNgtcp2Qlog(cut);
        for (const m of q.metrics) expect(m.latestRttMs).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('summarizeQuicTrial', () => {
  // start 0, drop at 10 000 ms, end 12 000 ms; sender's RTT 50 ms (latest) / 50 ms (smoothed)
  // before the drop, then latest rising by 3 ms every 10 ms from the drop on
  const senderRtt = [
    ...Array.from({ length: 200 }, (_, i) => ({ tMs: 8000 + i * 10, latestRttMs: 50, smoothedRttMs: 50 })),
    ...Array.from({ length: 200 }, (_, i) => ({ tMs: 10_000 + i * 10, latestRttMs: 50 + 3 * i, smoothedRttMs: 50 + i })),
  ];
  // 100 ms bins: 300 KB (24 Mbit/s) before the drop, 30 KB (2.4 Mbit/s) after
  const received = Array.from({ length: 120 }, (_, i) => ({ tMs: i * 100, bytes: i < 100 ? 300_000 : 30_000 }));
  // ping probes sent every 10 ms from 5 s (seq = index): 60 ms before the drop; after it, 100
  // replies at 300 ms, 50 probes lost (seq 600-649), 50 replies at 100 ms
  const probe = (seq: number, rttMs: number): { tMs: number; rttMs: number; seq: number } => ({ tMs: 5000 + seq * 10 + rttMs, rttMs, seq });
  const pings = [
    ...Array.from({ length: 500 }, (_, i) => probe(i, 60)),
    ...Array.from({ length: 100 }, (_, i) => probe(500 + i, 300)),
    ...Array.from({ length: 50 }, (_, i) => probe(650 + i, 100)),
  ];
  const m = summarizeQuicTrial(pings, { senderRtt, received }, 10_000, 12_000, 10, 0);

  it.each([
    ['senderRttBeforeDropMs', 50],
    ['senderLatestRttBeforeDropMs', 50],
    // first sample above 55 / 60 / 70 ms: i = 2 (56), 4 (62), 7 (71)
    ['senderRttRise5msMs', 20],
    ['senderRttRise10msMs', 40],
    ['senderRttRise20msMs', 70],
    // smoothed above 70: i = 21
    ['senderSrttRise20msMs', 210],
    ['throughputBeforeDropMbps', 24],
    ['throughputMbps', 2.4],
    ['rttBeforeDropP50Ms', 60],
    ['probesLost', 50],
    // 100 replies above 200 ms + 50 lost, 10 ms each
    ['rttAbove200msSeconds', 1.5],
  ] as const)('%s = %d', (key, want) => {
    expect(m[key]).toBeCloseTo(want, 5);
  });

  it('a rise that never happens is NaN', () => {
    const flat = senderRtt.map((s) => ({ ...s, latestRttMs: 50, smoothedRttMs: 50 }));
    const f = summarizeQuicTrial(pings, { senderRtt: flat, received }, 10_000, 12_000, 10, 0);
    expect(f.senderRttRise5msMs).toBeNaN();
    expect(f.senderSrttRise20msMs).toBeNaN();
  });
});
