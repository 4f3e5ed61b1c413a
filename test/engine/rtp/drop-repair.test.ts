/**
 * flows.rtp.repairDrops: a packet reported received that the queue then dropped (a later packet
 * of its transport left first) is sent again from zhuge's copy, byte for byte; one still to be
 * reported is reported lost instead; NATed copies are addressed to the client.
 */
import { describe, expect, it } from 'vitest';
import { PacketCopies } from '../../../src/feedback-updater/packet-copies.js';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { verifyIpv4HeaderChecksum, verifyL4Checksum } from '../../../src/protocols/checksum.js';
import { decodePacket, newPacketView, type PacketView } from '../../../src/protocols/packet.js';
import { parseTwcc } from '../../../src/protocols/rtcp/index.js';
import { buildRr } from '../../helpers/rtcp-packets.js';
import { buildRtp } from '../../helpers/rtp-packets.js';
import { BASE_CFG, twSeqExt, udp4, udp6 } from './_helpers.js';

const S = [0x20010db8, 0, 0, 1];
const C = [0x20010db8, 0, 1, 2];
const T0 = 1_000_000;

function rtp(i: number, payloadBytes = 400): Uint8Array {
  return buildRtp({ payloadType: 96, sequenceNumber: i, timestamp: i * 3000, ssrc: 0xabc, extensions: [twSeqExt(i)], payload: new Uint8Array(payloadBytes).fill(i) });
}

interface CallOpts {
  repairDrops?: boolean;
  /** the downlink packet i as seen at the eth tap */
  packet?: (i: number) => Uint8Array;
  /** the client's RTCP (marks the client as seen) */
  rtcp?: () => Uint8Array;
  /** rewrites the decoded view (the engine's NAT translation) */
  translate?: (v: PacketView) => void;
}

/** n packets 1 ms apart (match key 100 + i), the client's RTCP seen; nothing polled yet. */
function call(n: number, o: CallOpts = {}): { fb: RtpFeedback; pkts: Uint8Array[] } {
  const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: 3, reportTiming: 'departure', repairDrops: o.repairDrops ?? true });
  fb.queue = { departureUs: (tUs) => tUs + 30_000, horizonUs: () => Number.POSITIVE_INFINITY, rateAgeUs: () => Number.POSITIVE_INFINITY };
  const v = newPacketView();
  const pkts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const pkt = o.packet?.(i) ?? udp6(S, 5004, C, 6000, rtp(i));
    pkts.push(pkt);
    decodePacket(pkt, 'raw-ip', v);
    o.translate?.(v);
    fb.onDownlink(T0 + i * 1000, v, pkt, 0, 100 + i, i);
    if (i === 0) {
      const rr = o.rtcp?.() ?? udp6(C, 6000, S, 5004, buildRr(0x5150, [{ ssrc: 0xabc }]));
      decodePacket(rr, 'raw-ip', v);
      fb.onUplink(T0, v, rr);
    }
  }
  return { fb, pkts };
}

/** call(), then all reported at a build at +10 ms. */
function reportedCall(n: number, repairDrops: boolean): { fb: RtpFeedback; pkts: Uint8Array[]; feedback: number } {
  const c = call(n, { repairDrops });
  return { ...c, feedback: c.fb.poll(T0 + 10_000).length };
}

describe('repairDrops', () => {
  it('a packet reported received and then dropped is sent again, byte for byte, once', () => {
    const { fb, pkts, feedback } = reportedCall(4, true);
    expect(feedback).toBe(1); // all four reported received
    fb.onDeparture(100, T0 + 20_000);
    fb.onDeparture(102, T0 + 25_000); // 101 never left: dropped
    fb.onDeparture(103, T0 + 26_000);
    const out = fb.poll(T0 + 30_000); // the repair, no feedback due yet
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(pkts[1]);
    const c = fb.status(T0).counters;
    expect(c.reportTiming.droppedAfterReport).toBe(1);
    expect(c.repair.queued).toBe(1);
    expect(fb.poll(T0 + 35_000)).toHaveLength(0);
  });

  it('turned off: counted, nothing sent', () => {
    const { fb } = reportedCall(3, false);
    fb.onDeparture(100, T0 + 20_000);
    fb.onDeparture(102, T0 + 25_000);
    expect(fb.poll(T0 + 30_000)).toHaveLength(0);
    expect(fb.status(T0).counters.reportTiming.droppedAfterReport).toBe(1);
    expect(fb.status(T0).counters.repair.queued).toBe(0);
  });

  it('a drop found before its report is reported lost, not sent again', () => {
    const { fb } = call(3);
    const v = newPacketView();
    fb.onDeparture(100, T0 + 4000);
    fb.onDeparture(102, T0 + 5000);
    const out = fb.poll(T0 + 10_000);
    expect(out).toHaveLength(1); // the feedback only
    decodePacket(out[0]!, 'raw-ip', v);
    const f = parseTwcc(out[0]!, v.payloadOffset, v.payloadLength);
    expect(f.deltas.map((d) => d !== null)).toEqual([true, false, true]);
    expect(fb.status(T0).counters.reportTiming.droppedBeforeReport).toBe(1);
  });

  it('behind NAT the copy goes to the client (address and port rewritten, checksums valid)', () => {
    const { fb } = call(3, {
      // as seen on the WAN side: to the AP's public address and port
      packet: (i) => udp4('198.51.100.7', 5004, '203.0.113.2', 40000, rtp(i)),
      rtcp: () => udp4('10.78.2.1', 6000, '198.51.100.7', 5004, buildRr(0x5150, [{ ssrc: 0xabc }])),
      // the engine's NAT translation rewrites the view to the client's tuple
      translate: (v) => {
        v.dst0 = 0x0a4e0201; // 10.78.2.1
        v.dstPort = 6000;
      },
    });
    const v = newPacketView();
    fb.poll(T0 + 10_000);
    fb.onDeparture(100, T0 + 20_000);
    fb.onDeparture(102, T0 + 25_000);
    const out = fb.poll(T0 + 30_000);
    expect(out).toHaveLength(1);
    const p = out[0]!;
    decodePacket(p, 'raw-ip', v);
    expect(v.dst0 >>> 0).toBe(0x0a4e0201);
    expect(v.dstPort).toBe(6000);
    expect(v.srcPort).toBe(5004);
    expect(verifyIpv4HeaderChecksum(p, 0)).toBe(true);
    expect(verifyL4Checksum(p, 0)).toBe(true);
  });
});

/** Packet i of the call (match key 100 + i) reaches the AP at tUs. */
function arrive(fb: RtpFeedback, i: number, tUs: number): Uint8Array {
  const pkt = udp6(S, 5004, C, 6000, rtp(i));
  const v = newPacketView();
  decodePacket(pkt, 'raw-ip', v);
  fb.onDownlink(tUs, v, pkt, 0, 100 + i, i);
  return pkt;
}

describe('repairDrops: a copy is followed until it leaves', () => {
  /** packets 0-4 reported, 1 dropped, 4 still queued; 1's copy sent at +30 ms. */
  function repaired(): { fb: RtpFeedback; pkts: Uint8Array[] } {
    const { fb, pkts } = reportedCall(5, true);
    fb.onDeparture(100, T0 + 20_000);
    fb.onDeparture(102, T0 + 25_000);
    fb.onDeparture(103, T0 + 26_000);
    expect(fb.poll(T0 + 30_000)).toEqual([pkts[1]]);
    return { fb, pkts };
  }

  /** How many copies of packet 1 the poll at tUs sends. */
  const copiesOf1 = (fb: RtpFeedback, pkts: Uint8Array[], tUs: number): number => fb.poll(tUs).filter((p) => Buffer.compare(p, pkts[1]!) === 0).length;

  it.each([
    // what leaves after the copy was sent at +30 ms, then what the next poll sends
    ['the copy leaves: delivered, nothing sent again', (fb: RtpFeedback) => fb.onDeparture(101, T0 + 40_000), 0, { delivered: 1, resent: 0 }],
    ['a packet that arrived before the copy leaves: the copy may still be queued', (fb: RtpFeedback) => fb.onDeparture(104, T0 + 40_000), 0, { delivered: 0, resent: 0 }],
    [
      'a packet that arrived after the copy leaves first: the copy was dropped, sent again',
      (fb: RtpFeedback) => {
        arrive(fb, 5, T0 + 50_000);
        fb.onDeparture(105, T0 + 60_000);
      },
      1,
      { delivered: 0, resent: 1 },
    ],
    [
      'one that arrived within the margin after the send: not taken as behind it',
      (fb: RtpFeedback) => {
        arrive(fb, 5, T0 + 32_000);
        fb.onDeparture(105, T0 + 60_000);
      },
      0,
      { delivered: 0, resent: 0 },
    ],
  ] as const)('%s', (_name, after, sentAgain, counts) => {
    const { fb, pkts } = repaired();
    after(fb);
    expect(copiesOf1(fb, pkts, T0 + 70_000)).toBe(sentAgain);
    const c = fb.status(T0).counters.repair;
    expect({ delivered: c.delivered, resent: c.resent }).toEqual(counts);
  });

  it('sent at most four times, then given up; a copy that finally leaves is counted delivered', () => {
    const { fb, pkts } = repaired();
    fb.onDeparture(104, T0 + 35_000); // arrived before the copy was sent: nothing else to repair
    let i = 5;
    let tUs = T0 + 40_000;
    const sends = [1];
    for (let round = 0; round < 5; round++) {
      arrive(fb, i, tUs + 10_000);
      fb.onDeparture(100 + i, tUs + 20_000);
      sends.push(copiesOf1(fb, pkts, tUs + 30_000));
      i++;
      tUs += 40_000;
    }
    expect(sends).toEqual([1, 1, 1, 1, 0, 0]);
    const c = fb.status(T0).counters.repair;
    expect(c.resent).toBe(3);
    expect(c.gaveUp).toBe(1);
  });

  it('not sent again later than 2 s after the first send', () => {
    const { fb, pkts } = repaired();
    arrive(fb, 5, T0 + 2_100_000);
    fb.onDeparture(105, T0 + 2_110_000);
    expect(copiesOf1(fb, pkts, T0 + 2_120_000)).toBe(0);
    expect(fb.status(T0).counters.repair.gaveUp).toBe(1);
  });

  it('a copy that leaves after a resend is delivered once and followed no more', () => {
    const { fb, pkts } = repaired();
    fb.onDeparture(104, T0 + 35_000);
    arrive(fb, 5, T0 + 50_000);
    fb.onDeparture(105, T0 + 60_000);
    expect(copiesOf1(fb, pkts, T0 + 70_000)).toBe(1);
    fb.onDeparture(101, T0 + 80_000);
    arrive(fb, 6, T0 + 90_000);
    fb.onDeparture(106, T0 + 100_000);
    expect(copiesOf1(fb, pkts, T0 + 110_000)).toBe(0);
    const c = fb.status(T0).counters.repair;
    expect([c.delivered, c.resent, c.gaveUp]).toEqual([1, 1, 0]);
  });
});

describe('PacketCopies', () => {
  it.each([
    // slots, packets put, which ref to read back, expected
    [4, 3, 0, 'kept'],
    [4, 4, 0, 'kept'],
    [4, 5, 0, 'overwritten'],
    [4, 9, 8, 'kept'],
  ] as const)('%i slots, %i put: copy %i is %s', (slots, n, k, expected) => {
    const pc = new PacketCopies(slots, 64);
    const refs: number[] = [];
    for (let i = 0; i < n; i++) refs.push(pc.put(new Uint8Array(10).fill(i), 0, 10));
    const got = pc.get(refs[k]!);
    if (expected === 'kept') expect(got).toEqual(new Uint8Array(10).fill(k));
    else expect(got).toBeUndefined();
  });

  it('refuses a packet larger than a slot, and bad ranges', () => {
    const pc = new PacketCopies(2, 64);
    expect(pc.put(new Uint8Array(65), 0, 65)).toBe(-1);
    expect(pc.put(new Uint8Array(10), 5, 20)).toBe(-1);
    expect(pc.put(new Uint8Array(10), 5, 5)).toBe(-1);
    expect(pc.get(-1)).toBeUndefined();
    expect(() => new PacketCopies(0)).toThrow(RangeError);
  });
});
