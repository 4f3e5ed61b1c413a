/** Feedback built for synthetic transports: TWCC over IPv6, CCFB for an RFC 8888 client. */
import { describe, expect, it } from 'vitest';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { verifyL4Checksum } from '../../../src/protocols/checksum.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';
import { buildRr } from '../../helpers/rtcp-packets.js';
import { buildRtp } from '../../helpers/rtp-packets.js';
import { arrivalsUsFromTwcc, parseTwcc } from '../../../src/protocols/rtcp/index.js';
import { BASE_CFG, udp6, twSeqExt } from './_helpers.js';

describe('RtpFeedback synthetic transports', () => {
  it('IPv6: generated TWCC from client to server with the client traffic class, checksums right', () => {
    const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: 3 });
    const S = [0x20010db8, 0, 0, 1];
    const C = [0x20010db8, 0, 1, 2];
    const v = newPacketView();
    for (let i = 0; i < 30; i++) {
      const pkt = udp6(S, 5004, C, 6000, buildRtp({ payloadType: 96, sequenceNumber: 7 + i, timestamp: i * 3000, ssrc: 0xabc, extensions: [twSeqExt(65530 + i)] }));
      decodePacket(pkt, 'raw-ip', v);
      expect(fb.onDownlink(1_000_000 + i * 1000, v, pkt, 4)).toBe(true);
      if (i === 0) {
        const rr = udp6(C, 6000, S, 5004, buildRr(0x5150, [{ ssrc: 0xabc }]));
        rr[0] = 0x6b; // traffic class 0xb8 (EF): 4 bits in byte 0, 4 in byte 1
        rr[1] = 0x80;
        decodePacket(rr, 'raw-ip', v);
        expect(fb.onUplink(1_000_000, v, rr).action).toBe('accept');
      }
    }
    const sent = fb.poll(1_100_000);
    expect(sent.length).toBe(1);
    const p = sent[0]!;
    decodePacket(p, 'raw-ip', v);
    expect(v.l3).toBe('ipv6');
    expect([v.src0, v.src1, v.src2, v.src3].map((x) => x >>> 0)).toEqual(C);
    expect([v.dst0, v.dst1, v.dst2, v.dst3].map((x) => x >>> 0)).toEqual(S);
    expect(v.srcPort).toBe(6000);
    expect(v.dstPort).toBe(5004);
    expect(v.ttl).toBe(64);
    expect(v.tos).toBe(0xb8); // the client's traffic class
    expect(v.ipTotalLength).toBe(p.length);
    expect(verifyL4Checksum(p, 0)).toBe(true);
    const f = parseTwcc(p, v.payloadOffset, v.payloadLength);
    expect(f.senderSsrc).toBe(0x5150);
    expect(f.mediaSsrc).toBe(0xabc);
    expect(f.baseSeq).toBe(65530); // wraps through 0
    expect(f.deltas).toHaveLength(30);
    const arr = arrivalsUsFromTwcc(f);
    arr.forEach((a, i) => expect(Math.abs(a! - (1_000_000 + i * 1000 + 4000))).toBeLessThanOrEqual(125));
  });
});

describe('reportedBackwards counts only the times reported', () => {
  // A TWCC transport whose packets without a transport-wide sequence number (nothing recorded)
  // arrive with falling predicted delays: no reported time runs backwards, so the counter stays 0;
  // the same falling delays on recorded packets are counted (arrival mode: reported as predicted).
  const S = [0x20010db8, 0, 0, 1];
  const C = [0x20010db8, 0, 1, 2];
  const run = (reportTiming: 'arrival' | 'departure', withSeq: boolean): number => {
    const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: 3, reportTiming });
    const v = newPacketView();
    for (let i = 0; i < 20; i++) {
      const ext = withSeq || i % 2 === 0 ? [twSeqExt(100 + i)] : [];
      const pkt = udp6(S, 5004, C, 6000, buildRtp({ payloadType: 96, sequenceNumber: 7 + i, timestamp: i * 3000, ssrc: 0xabc, extensions: ext }));
      decodePacket(pkt, 'raw-ip', v);
      const predictedMs = i % 2 === 0 ? 5 : 200 - i * 10; // odd packets: falling from 190 ms
      fb.onDownlink(1_000_000 + i * 1000, v, pkt, predictedMs);
    }
    fb.poll(1_100_000);
    return fb.counters.reportedBackwards;
  };
  it.each([
    ['arrival', false, 0],
    ['departure', false, 0],
    ['arrival', true, 1], // counted: recorded times do run backwards here
  ] as const)('reportTiming %s, odd packets with a sequence number: %s -> %i', (timing, withSeq, expected) => {
    const n = run(timing, withSeq);
    if (expected === 0) expect(n).toBe(0);
    else expect(n).toBeGreaterThanOrEqual(expected);
  });
});
