/**
 * TwccRecorder against a real Chromium WebRTC capture (shared/fixtures/webrtc): the recorder is fed
 * each captured RTP packet's transport-wide sequence number with its capture time as the
 * "predicted" arrival (i.e. a zero predicted delay), and builds whenever the real receiver sent
 * its own TWCC feedback. It should then say what the real receiver said: the same packets
 * received, nearly the same packet boundaries (the capture point is not the receiver's socket,
 * so a packet captured just before a feedback can be processed just after it), and the same
 * inter-arrival times up to the capture/receive jitter.
 * Measured on this fixture: 60 vs 60 feedback packets, 687 vs 687 packets received, 52/60
 * identical (base, count), inter-arrival differences p50 0 µs, p95 250 µs, max 2.5 ms.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TwccFeedback } from '../../src/protocols/feedback-types.js';
import { parseTwcc, serializeTwcc } from '../../src/protocols/rtcp/index.js';
import { TwccRecorder } from '../../src/feedback-updater/twcc-recorder.js';
import { CHROMIUM_PCAP, readTimedUdp, twccSeqOf, TWCC_EXT_ID } from './_fixture.js';

function statuses(fb: TwccFeedback, into: Map<number, number | null>): void {
  let t = fb.referenceTime64ms * 64_000;
  fb.deltas.forEach((d, i) => {
    const seq = (fb.baseSeq + i) & 0xffff;
    if (d === null) {
      if (!into.has(seq)) into.set(seq, null);
      return;
    }
    t += d * 250;
    into.set(seq, t);
  });
}

describe.skipIf(!existsSync(CHROMIUM_PCAP))('TwccRecorder on a real Chromium capture (fixture missing: skipped)', () => {
  it('reproduces the real receiver\'s feedback from capture times', () => {
    const rec = new TwccRecorder();
    const theirs = new Map<number, number | null>();
    const ours = new Map<number, number | null>();
    const shapesTheirs: string[] = [];
    const shapesOurs: string[] = [];
    let rtpPackets = 0;
    for (const d of readTimedUdp(CHROMIUM_PCAP)) {
      const seq = twccSeqOf(d.payload, TWCC_EXT_ID);
      if (seq !== undefined) {
        rec.record(seq, d.tUs);
        rtpPackets++;
        continue;
      }
      const p = d.payload;
      if (p.length < 4 || (p[0] ?? 0) >> 6 !== 2 || (p[1] ?? 0) < 192 || (p[1] ?? 0) > 223) continue;
      for (let off = 0; off + 4 <= p.length; ) {
        const size = ((((p[off + 2] ?? 0) << 8) | (p[off + 3] ?? 0)) + 1) * 4;
        if (off + size > p.length) break;
        if (p[off + 1] === 205 && ((p[off] ?? 0) & 0x1f) === 15) {
          const real = parseTwcc(p, off, size);
          shapesTheirs.push(`${real.baseSeq}/${real.deltas.length}`);
          statuses(real, theirs);
          for (const fb of rec.build(d.tUs, real.senderSsrc, real.mediaSsrc)) {
            const bytes = serializeTwcc(fb);
            expect(parseTwcc(bytes, 0, bytes.length)).toEqual(fb);
            shapesOurs.push(`${fb.baseSeq}/${fb.deltas.length}`);
            statuses(fb, ours);
          }
        }
        off += size;
      }
    }
    expect(rtpPackets).toBeGreaterThan(500);
    expect(shapesTheirs.length).toBeGreaterThan(30);
    expect(Math.abs(shapesOurs.length - shapesTheirs.length)).toBeLessThanOrEqual(2);
    const received = (m: Map<number, number | null>): number[] =>
      [...m.entries()].filter(([, v]) => v !== null).map(([k]) => k).sort((a, b) => a - b);
    expect(received(ours)).toEqual(received(theirs));
    const same = shapesTheirs.filter((s, i) => s === shapesOurs[i]).length;
    expect(same / shapesTheirs.length).toBeGreaterThanOrEqual(0.8);
    const diffs: number[] = [];
    const keys = received(theirs);
    for (let i = 1; i < keys.length; i++) {
      const k = keys[i] ?? 0;
      const j = keys[i - 1] ?? 0;
      if (k !== ((j + 1) & 0xffff)) continue;
      const dt = (theirs.get(k) ?? 0) - (theirs.get(j) ?? 0);
      const dOurs = (ours.get(k) ?? 0) - (ours.get(j) ?? 0);
      diffs.push(Math.abs(dt - dOurs));
    }
    diffs.sort((a, b) => a - b);
    expect(diffs.length).toBeGreaterThan(500);
    expect(diffs[Math.floor(diffs.length / 2)]).toBeLessThanOrEqual(250);
    expect(diffs[Math.floor(diffs.length * 0.95)]).toBeLessThanOrEqual(500);
  });
});
