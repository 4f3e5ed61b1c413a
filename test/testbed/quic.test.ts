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
