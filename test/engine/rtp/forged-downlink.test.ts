/**
 * A transport created by downlink traffic alone (anything RTP-shaped an Internet host sends to a
 * client) gets no feedback sent in the client's name until the client itself is seen talking to
 * that peer: otherwise a forged stream makes the AP emit UDP "from" the client to an address of
 * the forger's choosing.
 */
import { describe, expect, it } from 'vitest';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';
import { parseTwcc } from '../../../src/protocols/rtcp/index.js';
import { buildRr, buildSr } from '../../helpers/rtcp-packets.js';
import { buildRtp } from '../../helpers/rtp-packets.js';
import { BASE_CFG, twSeqExt, udp6 } from './_helpers.js';

const S = [0x20010db8, 0, 0, 9];
const C = [0x20010db8, 0, 1, 2];
const T0 = 1_000_000;

describe('forged downlink RTP: no feedback in the client\'s name before the client is seen', () => {
  it('downlink RTP + a downlink SR: feedback built but not sent; after one uplink RR: sent', () => {
    const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: 3 });
    const v = newPacketView();
    const down = (i: number): void => {
      const pkt = udp6(S, 5004, C, 6000, buildRtp({ payloadType: 96, sequenceNumber: i, timestamp: i * 3000, ssrc: 0xabc, extensions: [twSeqExt(i)] }));
      decodePacket(pkt, 'raw-ip', v);
      fb.onDownlink(T0 + i * 1000, v, pkt, 5, 100 + i, i);
    };
    for (let i = 0; i < 20; i++) down(i);
    // a plaintext SR from the "server": the transport looks like a real call's
    const sr = udp6(S, 5004, C, 6000, buildSr(0xabc, { ntpSeconds: 1, ntpFraction: 0, rtpTimestamp: 0, packetCount: 20, octetCount: 2000 }));
    decodePacket(sr, 'raw-ip', v);
    fb.onDownlink(T0 + 20_000, v, sr, 5, 0, 0);
    expect(fb.poll(T0 + 100_000)).toHaveLength(0);
    const discarded = fb.status(T0).counters.discarded;
    expect(discarded).toBeGreaterThan(0);
    // the client answers on the same 5-tuple: from now on zhuge reports for it
    const rr = udp6(C, 6000, S, 5004, buildRr(0x5150, [{ ssrc: 0xabc }]));
    decodePacket(rr, 'raw-ip', v);
    fb.onUplink(T0 + 110_000, v, rr);
    for (let i = 20; i < 40; i++) down(i + 100);
    expect(fb.poll(T0 + 300_000).length).toBeGreaterThan(0);
  });
});

describe('a forged transport-wide number far ahead (issue 15, item 7)', () => {
  /** statuses reported over every feedback packet built by `fb` until tUs */
  function reportedStatuses(fb: RtpFeedback, tUs: number): number {
    const v = newPacketView();
    let n = 0;
    for (const pkt of fb.poll(tUs)) {
      decodePacket(pkt, 'raw-ip', v);
      n += parseTwcc(pkt, v.payloadOffset, v.payloadLength).deltas.length;
    }
    return n;
  }

  it.each([
    // the jump's datagram alone, amid the stream: not recorded, the sender is told nothing of it
    { name: 'one forged datagram 8000 ahead', forged: [8000], wantMin: 40, wantMax: 60, rejected: 1 },
    // two forged numbers in a row, the real stream goes on: refuted, nothing of them reported
    { name: 'two consecutive numbers 8000 ahead, the stream going on', forged: [8000, 8001], wantMin: 40, wantMax: 60, rejected: 2 },
    // the numbers go on from the jump for 200 ms with the old numbering quiet: the sender did jump
    // (zhuge then reports the gap, as the client would)
    { name: 'a jump of 8000 the sender keeps to', forged: [8000, 8001, 8002], gapUs: 110_000, oldGoesOn: false, wantMin: 8000, rejected: 2 },
  ])('$name', ({ forged, wantMax, wantMin, rejected, gapUs = 100, oldGoesOn = true }) => {
    const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: 3 });
    const v = newPacketView();
    const send = (seq: number, tUs: number): void => {
      const pkt = udp6(S, 5004, C, 6000, buildRtp({ payloadType: 96, sequenceNumber: seq & 0xffff, timestamp: seq * 3000, ssrc: 0xabc, extensions: [twSeqExt(seq & 0xffff)] }));
      decodePacket(pkt, 'raw-ip', v);
      fb.onDownlink(tUs, v, pkt, 5, 100 + seq, seq);
    };
    for (let i = 0; i < 20; i++) send(i, T0 + i * 1000);
    // a plaintext call: the server's SR, the client's RR on the same 5-tuple
    const sr = udp6(S, 5004, C, 6000, buildSr(0xabc, { ntpSeconds: 1, ntpFraction: 0, rtpTimestamp: 0, packetCount: 20, octetCount: 2000 }));
    decodePacket(sr, 'raw-ip', v);
    fb.onDownlink(T0 + 19_500, v, sr, 5, 0, 0);
    const rr = udp6(C, 6000, S, 5004, buildRr(0x5150, [{ ssrc: 0xabc }]));
    decodePacket(rr, 'raw-ip', v);
    fb.onUplink(T0 + 19_600, v, rr);
    forged.forEach((f, k) => send(f, T0 + 20_000 + k * gapUs));
    if (oldGoesOn) for (let i = 20; i < 40; i++) send(i, T0 + 21_000 + i * 1000);
    const n = reportedStatuses(fb, T0 + 200_000);
    expect(fb.status(T0).counters.implausibleSeqJumps).toBe(rejected);
    if (wantMax !== undefined) expect(n).toBeLessThanOrEqual(wantMax);
    if (wantMin !== undefined) expect(n).toBeGreaterThanOrEqual(wantMin);
  });
});
