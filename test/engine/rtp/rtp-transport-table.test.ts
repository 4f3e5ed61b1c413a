/** Transports: modes on the DTLS-SRTP capture, non-RTP UDP ignored, the table bounded, the config checked. */
import { describe, expect, it } from 'vitest';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';
import { buildRtp } from '../../helpers/rtp-packets.js';
import { SERVER, CLIENT, load, BASE_CFG, replay, udp4 } from './_helpers.js';

describe('RtpFeedback on the Chromium DTLS-SRTP capture', () => {
  const recs = load('chromium-srtp-4s.pcap');
  it.each(['delay', 'off'] as const)("classes the transport as encrypted, touches nothing (srtcpFallback %s)", (fallback) => {
    const r = replay(recs, { ...BASE_CFG, srtcpFallback: fallback }, () => 5);
    expect(r.sent).toEqual([]);
    const st = r.fb.status(r.endUs);
    expect(st.transports).toBe(1);
    expect(st.list[0]!.mode).toBe(fallback === 'delay' ? 'srtcp-delay' : 'passthrough');
    expect(st.list[0]!.twccExtId).toBeGreaterThan(0); // SRTP headers are plaintext: the ext is still found
    const modes = st.list[0]!.history.filter((e) => e.event === 'mode');
    if (fallback === 'delay') expect(modes.at(-1)).toMatchObject({ mode: 'srtcp-delay', why: expect.stringMatching(/^srtcp (up|down)link$/) as unknown });
    else expect(modes.every((e) => e.mode !== 'twcc' || e.why.startsWith('extension id'))).toBe(true);
    const actions = r.uplink.map((u) => u.action.action);
    expect(actions.filter((a) => a === 'drop' || a === 'rewrite')).toEqual([]);
    const srtcp = r.uplink.filter((u) => u.action.action === 'srtcp').length;
    if (fallback === 'delay') expect(srtcp).toBeGreaterThan(5);
    else expect(srtcp).toBe(0);
    expect(st.counters.srtcpUplink).toBeGreaterThan(5);
    expect(st.counters.feedbackBuilt.twcc).toBe(0);
  });
});

describe('RtpFeedback synthetic transports', () => {
  it('ignores non-RTP UDP (QUIC, DNS-like) and bounds the transport table', () => {
    const fb = new RtpFeedback({ ...BASE_CFG, maxTransports: 8 });
    const v = newPacketView();
    const quic = new Uint8Array(40);
    quic[0] = 0xc3;
    quic.set([0, 0, 0, 1], 1); // QUIC v1 long header
    quic[5] = 8;
    quic[14] = 8;
    const q = udp4(SERVER, 443, CLIENT, 5555, quic);
    decodePacket(q, 'raw-ip', v);
    expect(fb.onDownlink(1, v, q, 1)).toBe(false);
    const dns = udp4(SERVER, 53, CLIENT, 5555, new Uint8Array([0x12, 0x34, 1, 0, 0, 1]));
    decodePacket(dns, 'raw-ip', v);
    expect(fb.onDownlink(1, v, dns, 1)).toBe(false);
    expect(fb.onUplink(1, v, dns).action).toBe('unknown');
    for (let i = 0; i < 50; i++) {
      const pkt = udp4(SERVER, 5004, CLIENT, 10000 + i, buildRtp({ payloadType: 96, sequenceNumber: i, timestamp: 0, ssrc: i }));
      decodePacket(pkt, 'raw-ip', v);
      expect(fb.onDownlink(i, v, pkt, 1)).toBe(true);
    }
    expect(fb.transportCount).toBe(8);
    expect(fb.counters.transportsEvicted).toBe(42);
    fb.poll(100_000_000); // idle expiry
    expect(fb.transportCount).toBe(0);
  });

  it('rejects a bad extension id', () => {
    expect(() => new RtpFeedback({ ...BASE_CFG, twccExtensionId: 0 })).toThrow(RangeError);
    expect(() => new RtpFeedback({ ...BASE_CFG, twccExtensionId: 256 })).toThrow(RangeError);
  });
});
