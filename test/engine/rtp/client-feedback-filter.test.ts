/** The client's own TWCC / CCFB on the uplink: dropped, rewritten out of a compound, or passed. */
import { describe, expect, it } from 'vitest';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { parseCcfb, serializeCcfb } from '../../../src/protocols/rtcp/index.js';
import { verifyIpv4HeaderChecksum, verifyL4Checksum } from '../../../src/protocols/checksum.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';
import { buildCompound, buildPli, buildRr } from '../../helpers/rtcp-packets.js';
import { buildRtp } from '../../helpers/rtp-packets.js';
import { serializeTwcc } from '../../../src/protocols/rtcp/index.js';
import { SERVER, CLIENT, load, BASE_CFG, rtcpKinds, replay, udp4 } from './_helpers.js';

describe('RtpFeedback on the Chromium plaintext capture', () => {
  const recs = load('chromium-plaintext-4s.pcap');

  it("drops the client's TWCC while reporting, passes every other RTCP", () => {
    const r = replay(recs, BASE_CFG, () => 5);
    let dropped = 0;
    let passedTwcc = 0;
    let other = 0;
    for (const u of r.uplink) {
      const hasTwcc = u.kinds.includes('twcc');
      const onlyTwcc = hasTwcc && u.kinds.every((k) => k === 'twcc');
      if (u.action.action === 'drop') {
        expect(onlyTwcc).toBe(true);
        dropped++;
      } else if (u.action.action === 'rewrite') {
        expect(hasTwcc && !onlyTwcc).toBe(true);
      } else if (u.action.action === 'unknown') {
        expect(hasTwcc).toBe(false); // STUN before the first RTP: no transport yet
      } else {
        expect(u.action.action).toBe('accept');
        if (hasTwcc) passedTwcc++;
        else other++;
      }
    }
    const st = r.fb.status(r.endUs);
    expect(dropped).toBeGreaterThan(10);
    expect(other).toBeGreaterThan(0); // RR / SDES / STUN... passed
    expect(st.counters.clientFeedbackDropped.twcc).toBe(dropped);
    expect(st.counters.clientFeedbackPassed.twcc).toBe(passedTwcc);
    // once reporting starts, the client's TWCC never passes again
    const firstDrop = r.uplink.findIndex((u) => u.action.action === 'drop');
    expect(r.uplink.slice(firstDrop).some((u) => u.kinds.includes('twcc') && u.action.action === 'accept')).toBe(false);
    console.log(`[rtp-feedback] uplink: ${dropped} client TWCC dropped, ${passedTwcc} passed before reporting, ${other} others passed`);
  });

  it('lets the client feedback pass when reporting is off or the transport is idle', () => {
    const r = replay(recs, BASE_CFG, () => 5);
    const twccRec = r.uplink.filter((u) => u.kinds.length > 0 && u.kinds.every((k) => k === 'twcc')).at(-1)!;
    const v = newPacketView();
    decodePacket(twccRec.rec.data, twccRec.rec.linkType, v);
    const lastUs = recs[recs.length - 1]!.tUs;
    expect(r.fb.onUplink(lastUs, v, twccRec.rec.data).action).toBe('drop');
    r.fb.setReporting(false);
    expect(r.fb.onUplink(lastUs, v, twccRec.rec.data).action).toBe('accept');
    expect(r.fb.poll(lastUs + 10_000_000)).toEqual([]);
    r.fb.setReporting(true);
    expect(r.fb.onUplink(lastUs + 1_500_000, v, twccRec.rec.data).action).toBe('accept'); // nothing recorded for 1.5 s
  });

  it('rewrites a compound RR + TWCC + PLI: TWCC removed, lengths and checksums right', () => {
    const r = replay(recs, BASE_CFG, () => 5);
    const t = r.fb.status(r.endUs).list[0]!;
    const twcc = serializeTwcc({ senderSsrc: t.clientSenderSsrc, mediaSsrc: t.mediaSsrc, baseSeq: 100, referenceTime64ms: 5, fbPktCount: 1, deltas: [4, null, null, 5] });
    expect(twcc[0]! & 0x20).toBe(0); // unpadded: padding is only allowed on the last sub-packet
    const rr = buildRr(t.clientSenderSsrc, [{ ssrc: t.mediaSsrc, extendedHighestSeq: 1234 }]);
    const pli = buildPli(t.clientSenderSsrc, t.mediaSsrc);
    const compound = buildCompound([rr, twcc, pli]);
    const pkt = udp4(CLIENT, 43313, SERVER, 35281, compound);
    const v = newPacketView();
    decodePacket(pkt, 'raw-ip', v);
    const lastUs = recs[recs.length - 1]!.tUs;
    const a = r.fb.onUplink(lastUs, v, pkt);
    expect(a.action).toBe('rewrite');
    if (a.action !== 'rewrite') return;
    const out = a.packet;
    expect(out.length).toBe(pkt.length - twcc.length);
    expect(verifyIpv4HeaderChecksum(out, 0)).toBe(true);
    expect(verifyL4Checksum(out, 0)).toBe(true);
    const w = newPacketView();
    decodePacket(out, 'raw-ip', w);
    expect(w.ipTotalLength).toBe(out.length);
    expect(w.udpLength).toBe(8 + rr.length + pli.length);
    expect(rtcpKinds(out, w)).toEqual(['rr', 'pli']);
    expect(Buffer.from(out.subarray(w.payloadOffset))).toEqual(Buffer.from(buildCompound([rr, pli])));
    expect(pkt.length).toBe(20 + 8 + compound.length); // the input is untouched
    expect(r.fb.status(r.endUs).counters.clientFeedbackRewritten.twcc).toBe(1);
  });
});

describe('RtpFeedback synthetic transports', () => {
  it('CCFB: a client using RFC 8888 gets CCFB built and its own CCFB dropped', () => {
    const fb = new RtpFeedback(BASE_CFG);
    const v = newPacketView();
    const ccfbOf = (ssrc: number): Uint8Array =>
      serializeCcfb({ senderSsrc: 0x77, reportTimestampNtp32: 1000, streams: [{ ssrc, beginSeq: 1, metrics: [{ received: true, ecn: 0, atoUnits: 3 }] }] });
    const send = (i: number, ecn: number): void => {
      const pkt = udp4(SERVER, 5004, CLIENT, 6000, buildRtp({ payloadType: 96, sequenceNumber: 100 + i, timestamp: i, ssrc: 0x1111 }), ecn);
      decodePacket(pkt, 'raw-ip', v);
      fb.onDownlink(2_000_000 + i * 2000, v, pkt, 10);
    };
    send(0, 1);
    const up = udp4(CLIENT, 6000, SERVER, 5004, ccfbOf(0x1111));
    decodePacket(up, 'raw-ip', v);
    expect(fb.onUplink(2_000_500, v, up).action).toBe('accept'); // nothing recorded yet
    for (let i = 1; i < 20; i++) send(i, i % 2 === 0 ? 1 : 0);
    expect(fb.status(2_040_000).list[0]!.mode).toBe('ccfb');
    decodePacket(up, 'raw-ip', v);
    expect(fb.onUplink(2_040_000, v, up).action).toBe('drop');
    const sent = fb.poll(2_050_000);
    expect(sent.length).toBe(1);
    const w = newPacketView();
    decodePacket(sent[0]!, 'raw-ip', w);
    expect(verifyIpv4HeaderChecksum(sent[0]!, 0) && verifyL4Checksum(sent[0]!, 0)).toBe(true);
    const rep = parseCcfb(sent[0]!, w.payloadOffset, w.payloadLength);
    expect(rep.senderSsrc).toBe(0x77);
    expect(rep.streams).toHaveLength(1);
    const b = rep.streams[0]!;
    expect(b.ssrc).toBe(0x1111);
    expect(b.beginSeq).toBe(101);
    expect(b.metrics).toHaveLength(19);
    expect(b.metrics.every((m) => m.received)).toBe(true);
    expect(b.metrics.map((m) => m.ecn)).toEqual(Array.from({ length: 19 }, (_, k) => ((k + 1) % 2 === 0 ? 1 : 0)));
    const st = fb.status(2_050_000);
    expect(st.counters.feedbackBuilt.ccfb).toBe(1);
    expect(st.counters.clientFeedbackDropped.ccfb).toBe(1);
  });
});
