/**
 * accuracyPairs (the per-packet pairs behind the accuracy heat map) against `zhuge replay`'s
 * predictionAccuracy on the same synthetic queue: a FIFO served at a fixed rate, UDP packets of
 * several flows arriving in bursts, written as Ethernet pcaps the way the ap's taps write them.
 */
import { describe, expect, it } from 'vitest';
import { predictionAccuracy } from '../../src/replay/replay.js';
import { defaultFortuneTellerConfig } from '../../src/fortune-teller/index.js';
import { fixIpPacketChecksums } from '../../src/protocols/checksum.js';
import { pcapWriter } from '../../src/protocols/pcap-file.js';
import { accuracyPairs } from '../../testbed/eval/accuracy.js';
import { quantile } from '../../testbed/eval/stats.js';

function frame(flow: number, ipId: number, len: number): Uint8Array {
  const f = new Uint8Array(14 + len);
  const dv = new DataView(f.buffer);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, len);
  dv.setUint16(18, ipId);
  f[22] = 64;
  f[23] = 17;
  dv.setUint32(26, 0x0a010101);
  dv.setUint32(30, 0x0a030302);
  dv.setUint16(34, 5000 + flow);
  dv.setUint16(36, 6000);
  dv.setUint16(38, len - 20);
  fixIpPacketChecksums(f, 14);
  return f;
}

/** Arrivals at `rateIn`, bursts; a FIFO drains at `rateOutBps`: returns (ingress, egress) pcaps. */
function queue(n: number, rateOutBps: number, burst: number, gapUs: number): { ingress: Uint8Array; egress: Uint8Array; sojournsMs: number[] } {
  const w = pcapWriter(1, 256);
  const ing: Uint8Array[] = [w.header()];
  const eg: Uint8Array[] = [w.header()];
  let t = 1_000_000;
  let freeAt = 0;
  const sojournsMs: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i % burst === 0) t += gapUs;
    const len = 200 + ((i * 37) % 1300);
    const f = frame(i % 4, i & 0xffff, len);
    const snap = f.subarray(0, Math.min(f.length, 256));
    ing.push(w.record(t, snap, f.length));
    const start = Math.max(t, freeAt);
    const dep = start + Math.round(((f.length * 8) / rateOutBps) * 1e6);
    freeAt = dep;
    eg.push(w.record(dep, snap, f.length));
    sojournsMs.push((dep - t) / 1000);
  }
  const cat = (xs: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(xs));
  return { ingress: cat(ing), egress: cat(eg), sojournsMs };
}

describe('accuracyPairs', () => {
  it.each([
    { n: 3000, rate: 10e6, burst: 20, gap: 20_000 },
    { n: 2000, rate: 2e6, burst: 5, gap: 8_000 },
    { n: 500, rate: 50e6, burst: 1, gap: 1_000 },
  ])('$n packets at $rate bit/s, bursts of $burst: same matches and percentiles as predictionAccuracy', ({ n, rate, burst, gap }) => {
    const q = queue(n, rate, burst, gap);
    const pairs = accuracyPairs(q.ingress, q.egress);
    const acc = predictionAccuracy(q.ingress, q.egress);
    expect(pairs).toHaveLength(acc.matched);
    expect(acc.matched).toBe(n);
    expect(acc.byTransport.udp.matched).toBe(n);
    expect(acc.byTransport.tcp.matched).toBe(0);
    // a FIFO's order is one a per-flow fair queue may produce too: the fq model matches them all
    expect(predictionAccuracy(q.ingress, q.egress, { ...defaultFortuneTellerConfig, discipline: 'fq' }).matched).toBe(n);
    const actual = pairs.map(([a]) => a);
    const absErr = pairs.map(([a, p]) => Math.abs(p - a));
    // the actual sojourn is exactly what the synthetic queue produced (µs timestamps)
    expect(actual.map((x) => Math.round(x * 1000))).toEqual(q.sojournsMs.map((x) => Math.round(x * 1000)));
    expect(quantile(actual, 0.5)).toBeCloseTo(acc.actualDelayMs.p50, 2);
    expect(quantile(absErr, 0.9)).toBeCloseTo(acc.absErrorMsAll.p90, 2);
  });
  it('no egress: no pairs', () => {
    const q = queue(10, 1e6, 10, 1000);
    expect(accuracyPairs(q.ingress, pcapWriter(1).header())).toEqual([]);
  });
});
