/** Shared by the in-band RTP feedback tests: the Chromium captures, a replay harness, synthetic UDP packets. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { RtpFeedback, type QueueView, type RtpFeedbackConfig, type UplinkRtpAction } from '../../../src/engine/rtp/rtp-feedback.js';
import { fixIpPacketChecksums, verifyIpv4HeaderChecksum, verifyL4Checksum } from '../../../src/protocols/checksum.js';
import { ParseError } from '../../../src/protocols/errors.js';
import { formatIpv4 } from '../../../src/protocols/ipv4.js';
import { decodePacket, linkTypeFromDlt, newPacketView, type LinkType, type PacketView } from '../../../src/protocols/packet.js';
import { readCapture } from '../../../src/protocols/pcap-file.js';
import { RtcpCompoundCursor, type RtcpKind } from '../../../src/protocols/rtcp/index.js';
import { newRtpView, parseRtpHeader, readTransportWideSeq } from '../../../src/protocols/rtp.js';
import { arrivalsUsFromTwcc, parseTwcc } from '../../../src/protocols/rtcp/index.js';


export const FIX = new URL('../../../../shared/fixtures/webrtc/', import.meta.url);
export const SERVER = '10.78.1.1';
export const CLIENT = '10.78.2.1';
export const EXT_ID = 4; // chromium-plaintext-offer.sdp: a=extmap:4 ...transport-wide-cc-extensions-01

export interface Rec {
  tUs: number;
  data: Uint8Array;
  linkType: LinkType;
  down: boolean;
}

export function load(name: string): Rec[] {
  const buf = new Uint8Array(readFileSync(new URL(name, FIX)));
  const out: Rec[] = [];
  const v = newPacketView();
  let t0 = -1;
  for (const r of readCapture(buf)) {
    const lt = linkTypeFromDlt(r.linkType);
    if (lt === undefined) continue;
    decodePacket(r.data, lt, v);
    if (v.l4 !== 'udp') continue;
    if (t0 < 0) t0 = r.tUs;
    // the daemon's monotonic clock: start at 10 s
    out.push({ tUs: r.tUs - t0 + 10_000_000, data: r.data, linkType: lt, down: formatIpv4(v.src0) === SERVER });
  }
  return out;
}

/** the paper's rule (reportTiming 'arrival'): these tests check what is recorded at arrival; 'departure' has its own (report-timing-path.test.ts) */
export const BASE_CFG: RtpFeedbackConfig = { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback: 'delay', reportTiming: 'arrival', signal: 'twcc' };

export interface Replay {
  fb: RtpFeedback;
  /** generated IP packets with the time they were polled */
  sent: Array<{ tUs: number; pkt: Uint8Array }>;
  /** transport-wide seq -> expected predicted arrival (µs), for downlink packets carrying one */
  expected: Map<number, number>;
  uplink: Array<{ rec: Rec; action: UplinkRtpAction; kinds: RtcpKind[] }>;
  endUs: number;
}

export function rtcpKinds(buf: Uint8Array, v: PacketView): RtcpKind[] {
  const c = new RtcpCompoundCursor().reset(buf, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength);
  const kinds: RtcpKind[] = [];
  try {
    while (c.next()) kinds.push(c.view.kind);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return [];
  }
  return kinds;
}

/** Replays a capture: downlink to onDownlink with `predictMs(tUs)`, uplink to onUplink, poll every 5 ms. */
export function replay(recs: Rec[], cfg: RtpFeedbackConfig, predictMs: (tUs: number) => number, queue?: QueueView): Replay {
  const fb = new RtpFeedback(cfg);
  if (queue !== undefined) fb.queue = queue;
  const sent: Replay['sent'] = [];
  const expected = new Map<number, number>();
  const uplink: Replay['uplink'] = [];
  const v = newPacketView();
  const rtp = newRtpView();
  let nextPollUs = recs[0]!.tUs;
  const pollUntil = (tUs: number): void => {
    while (nextPollUs <= tUs) {
      for (const pkt of fb.poll(nextPollUs)) sent.push({ tUs: nextPollUs, pkt });
      nextPollUs += 5000;
    }
  };
  for (const r of recs) {
    pollUntil(r.tUs);
    decodePacket(r.data, r.linkType, v);
    if (r.down) {
      const p = predictMs(r.tUs);
      const isRtp = fb.onDownlink(r.tUs, v, r.data, p);
      const b0 = r.data[v.payloadOffset]!;
      const b1 = r.data[v.payloadOffset + 1]! & 0x7f;
      if (isRtp && b0 >> 6 === 2 && !(b1 >= 64 && b1 <= 95)) {
        parseRtpHeader(r.data, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength, rtp);
        const seq = readTransportWideSeq(r.data, rtp, EXT_ID);
        if (seq >= 0) expected.set(seq, r.tUs + p * 1000);
      }
    } else {
      const kinds = rtcpKinds(r.data, v);
      uplink.push({ rec: r, action: fb.onUplink(r.tUs, v, r.data), kinds });
    }
  }
  const endUs = recs[recs.length - 1]!.tUs + 100_000;
  pollUntil(endUs);
  return { fb, sent, expected, uplink, endUs };
}

export interface Reported {
  seq: number;
  arrivalUs: number | null;
}

/** Checks every generated packet (addresses, checksums, lengths) and returns its TWCC content. */
export function checkGenerated(sent: Replay['sent']): Reported[] {
  const v = newPacketView();
  const out: Reported[] = [];
  for (const { pkt } of sent) {
    decodePacket(pkt, 'raw-ip', v);
    expect(v.l3).toBe('ipv4');
    expect(formatIpv4(v.src0)).toBe(CLIENT);
    expect(formatIpv4(v.dst0)).toBe(SERVER);
    expect(v.srcPort).toBe(43313);
    expect(v.dstPort).toBe(35281);
    expect(v.ttl).toBe(64);
    expect(pkt[6]! & 0x40).toBe(0x40); // DF
    expect(v.ipTotalLength).toBe(pkt.length);
    expect(v.udpLength).toBe(pkt.length - 20);
    expect(verifyIpv4HeaderChecksum(pkt, 0)).toBe(true);
    expect(verifyL4Checksum(pkt, 0)).toBe(true);
    const fbk = parseTwcc(pkt, v.payloadOffset, v.payloadLength);
    expect(fbk.deltas.length).toBeGreaterThan(0);
    const arr = arrivalsUsFromTwcc(fbk);
    arr.forEach((a, i) => out.push({ seq: (fbk.baseSeq + i) & 0xffff, arrivalUs: a }));
  }
  return out;
}

/** Every received report matches the prediction within 250 µs and appears once; the reported range has no holes. */
export function checkReports(rep: Reported[], expected: Map<number, number>): { received: number; maxErrUs: number } {
  const seen = new Set<number>();
  let maxErrUs = 0;
  let received = 0;
  for (const r of rep) {
    if (r.arrivalUs === null) continue;
    expect(seen.has(r.seq), `seq ${r.seq} reported twice`).toBe(false);
    seen.add(r.seq);
    const e = expected.get(r.seq);
    expect(e, `seq ${r.seq} was never sent`).toBeDefined();
    const err = Math.abs(r.arrivalUs - e!);
    maxErrUs = Math.max(maxErrUs, err);
    received++;
  }
  expect(maxErrUs).toBeLessThanOrEqual(250);
  // from the first reported seq on, every seq the server sent is reported received (no loss in the capture)
  const first = rep.find((r) => r.arrivalUs !== null)!.seq;
  const sentSeqs = [...expected.keys()].filter((s) => ((s - first) & 0xffff) < 0x8000);
  for (const s of sentSeqs) expect(seen.has(s), `seq ${s} not reported`).toBe(true);
  return { received, maxErrUs };
}


export function ipv4Words(s: string): number {
  return s.split('.').reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0);
}

export function udp4(src: string, sport: number, dst: string, dport: number, payload: Uint8Array, tos = 0): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  p[1] = tos;
  dv.setUint16(2, p.length);
  dv.setUint16(4, 0x1234);
  p[8] = 63;
  p[9] = 17;
  dv.setUint32(12, ipv4Words(src));
  dv.setUint32(16, ipv4Words(dst));
  dv.setUint16(20, sport);
  dv.setUint16(22, dport);
  dv.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  fixIpPacketChecksums(p, 0);
  return p;
}

export function udp6(src: number[], sport: number, dst: number[], dport: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(48 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, 8 + payload.length);
  p[6] = 17;
  p[7] = 63;
  src.forEach((w, i) => dv.setUint32(8 + 4 * i, w >>> 0));
  dst.forEach((w, i) => dv.setUint32(24 + 4 * i, w >>> 0));
  dv.setUint16(40, sport);
  dv.setUint16(42, dport);
  dv.setUint16(44, 8 + payload.length);
  p.set(payload, 48);
  fixIpPacketChecksums(p, 0);
  return p;
}

export function twSeqExt(seq: number): { id: number; data: Uint8Array } {
  return { id: 3, data: new Uint8Array([seq >> 8, seq & 0xff]) };
}
