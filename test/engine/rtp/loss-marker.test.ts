/** Loss marks: through RtpFeedback.markLost on the capture, and LossMarker on built feedback. */
import { describe, expect, it } from 'vitest';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';
import { newRtpView, parseRtpHeader, readTransportWideSeq } from '../../../src/protocols/rtp.js';
import { seededRng } from '../../../src/feedback-updater/rng.js';
import { LossMarker } from '../../../src/engine/rtp/loss-marker.js';
import { newRtpFeedbackCounters } from '../../../src/engine/rtp/rtp-feedback-counters.js';
import { RtpTransport, type RtpTransportMode } from '../../../src/engine/rtp/rtp-transport.js';
import { newTransportState } from '../../../src/protocols/classify.js';
import type { CcfbReport, TwccFeedback } from '../../../src/protocols/feedback-types.js';
import { EXT_ID, load, BASE_CFG, checkGenerated, udp4, SERVER, CLIENT } from './_helpers.js';

describe('RtpFeedback on the Chromium plaintext capture', () => {
  const recs = load('chromium-plaintext-4s.pcap');

  it('markLost removes a packet from the next feedback and keeps the other arrivals', () => {
    const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: EXT_ID });
    const v = newPacketView();
    const rtp = newRtpView();
    const seqs: Array<{ seq: number; tUs: number }> = [];
    let rrSeen = false;
    for (const r of recs) {
      if (r.tUs > 12_000_000) break;
      decodePacket(r.data, r.linkType, v);
      if (r.down) {
        fb.onDownlink(r.tUs, v, r.data, 2);
        const b1 = r.data[v.payloadOffset + 1]! & 0x7f;
        if (r.data[v.payloadOffset]! >> 6 === 2 && !(b1 >= 64 && b1 <= 95)) {
          parseRtpHeader(r.data, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength, rtp);
          const s = readTransportWideSeq(r.data, rtp, EXT_ID);
          if (s >= 0) seqs.push({ seq: s, tUs: r.tUs + 2000 });
        }
      } else if (fb.onUplink(r.tUs, v, r.data).action !== 'unknown') rrSeen = true;
      if (r.tUs < 11_000_000) fb.poll(r.tUs); // everything before 11 s is reported (or discarded)
    }
    expect(rrSeen).toBe(true);
    // the seqs recorded after the last poll (11 s..12 s) are pending
    const pending = seqs.filter((s) => s.tUs - 2000 >= 11_000_000);
    const lost = new Set([pending[3]!.seq, pending[4]!.seq, pending[10]!.seq]);
    const tv = newPacketView();
    decodePacket(recs.find((x) => x.down)!.data, recs[0]!.linkType, tv);
    for (const s of lost) expect(fb.markLost(tv, s)).toBe(true);
    const sent = fb.poll(12_000_000);
    const rep = checkGenerated(sent.map((pkt) => ({ tUs: 0, pkt })));
    const bySeq = new Map(rep.map((x) => [x.seq, x.arrivalUs]));
    for (const p of pending) {
      const a = bySeq.get(p.seq);
      if (lost.has(p.seq)) expect(a).toBeNull();
      else expect(Math.abs(a! - p.tUs)).toBeLessThanOrEqual(250);
    }
    // a mark after the build that reported the packet is too late: counted, the next feedback is unaffected
    expect(fb.markLost(tv, pending[20]!.seq)).toBe(true);
    const next = recs.find((x) => x.down && x.tUs > 12_000_000 && x.data.length > 200)!;
    decodePacket(next.data, next.linkType, v);
    expect(fb.onDownlink(next.tUs, v, next.data, 2)).toBe(true);
    const after = checkGenerated(fb.poll(next.tUs + 60_000).map((pkt) => ({ tUs: 0, pkt })));
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((x) => x.arrivalUs !== null)).toBe(true);
    const c = fb.status(next.tUs).counters;
    expect(c.lostMarked).toBe(4);
    expect(c.lostTooLate).toBe(1);
  });
});

describe('LossMarker', () => {
  const transport = (mode: RtpTransportMode): RtpTransport => {
    const v = newPacketView();
    decodePacket(udp4(SERVER, 5004, CLIENT, 6000, new Uint8Array(12)), 'raw-ip', v);
    const t = new RtpTransport(v, newTransportState(), seededRng(1));
    t.mode = mode;
    return t;
  };

  it('carries a lost packet delta to the next received one (clamped to 16 bits)', () => {
    const counters = newRtpFeedbackCounters();
    const lm = new LossMarker(counters);
    const t = transport('twcc');
    expect(lm.markLost(t, 0x10001)).toBe(true); // seq 1 (16 bits)
    expect(lm.markLost(t, 2)).toBe(true);
    expect(lm.markLost(t, 9)).toBe(true); // not in the feedback: too late after the build
    const fb: TwccFeedback = { senderSsrc: 1, mediaSsrc: 2, baseSeq: 0, referenceTime64ms: 0, fbPktCount: 0, deltas: [10, 20, 0x7ff0, null, 30, 40] };
    lm.applyTwcc(t, fb);
    expect(fb.deltas).toEqual([10, null, null, null, 0x7fff, 40]);
    lm.tooLate(t.lostTwcc);
    expect(counters.lostMarked).toBe(3);
    expect(counters.lostTooLate).toBe(1);
    expect(t.lostTwcc.size).toBe(0);
  });

  it('finds a CCFB packet by match key and reports it not received', () => {
    const lm = new LossMarker(newRtpFeedbackCounters());
    const t = transport('ccfb');
    lm.remember(77, t, -1, 0x1111, 65535);
    lm.remember(78, t, -1, 0x1111, 0);
    expect(lm.markLostByMatchKey(0)).toBe(false);
    expect(lm.markLostByMatchKey(77)).toBe(true);
    expect(lm.markLostByMatchKey(77)).toBe(false); // used once
    const r: CcfbReport = {
      senderSsrc: 1,
      reportTimestampNtp32: 0,
      streams: [{ ssrc: 0x1111, beginSeq: 65534, metrics: [0, 1, 2].map(() => ({ received: true, ecn: 0, atoUnits: 5 })) }],
    };
    lm.applyCcfb(t, r);
    expect(r.streams[0]!.metrics.map((m) => m.received)).toEqual([true, false, true]);
    lm.forget(t);
    expect(lm.markLostByMatchKey(78)).toBe(false); // the transport left the table
  });
});
