/**
 * Test-only helpers for the TWCC/CCFB tests: a tiny pcapng (SHB/IDB/EPB) + Ethernet + IPv4 + UDP
 * walker for the Chromium fixture, a trivial RTCP compound walker that picks out transport-cc
 * sub-packets, and a classic-libpcap writer (DLT 101, raw IP) to hand packets we build to tshark.
 * Deliberately independent of src/protocols' own IP/UDP/RTCP codecs.
 */
import { readFileSync } from 'node:fs';

export const FIXTURE_PCAP = new URL('../../../shared/fixtures/webrtc/chromium-plaintext-4s.pcap', import.meta.url);

export interface FixtureDatagram {
  frame: number;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function readFixtureUdp(file: URL = FIXTURE_PCAP): FixtureDatagram[] {
  const buf = new Uint8Array(readFileSync(file));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: FixtureDatagram[] = [];
  let off = 0;
  let le = true;
  let frame = 0;
  while (off + 12 <= buf.length) {
    if (dv.getUint32(off, true) === 0x0a0d0d0a) le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
    const type = dv.getUint32(off, le);
    const total = dv.getUint32(off + 4, le);
    if (total < 12 || off + total > buf.length) throw new Error('bad pcapng block');
    if (type === 6) {
      frame++;
      const capLen = dv.getUint32(off + 20, le);
      const pkt = buf.subarray(off + 28, off + 28 + capLen);
      // Ethernet II, IPv4, UDP only (what the fixture holds)
      if (pkt.length >= 14 + 20 + 8 && pkt[12] === 0x08 && pkt[13] === 0x00) {
        const ihl = ((pkt[14] ?? 0) & 0x0f) * 4;
        const ipTotal = ((pkt[16] ?? 0) << 8) | (pkt[17] ?? 0);
        if (pkt[23] === 17) {
          const u = 14 + ihl;
          const udpLen = ((pkt[u + 4] ?? 0) << 8) | (pkt[u + 5] ?? 0);
          const end = Math.min(pkt.length, 14 + ipTotal, u + udpLen);
          out.push({
            frame,
            srcPort: ((pkt[u] ?? 0) << 8) | (pkt[u + 1] ?? 0),
            dstPort: ((pkt[u + 2] ?? 0) << 8) | (pkt[u + 3] ?? 0),
            payload: pkt.subarray(u + 8, end),
          });
        }
      }
    }
    off += total;
  }
  return out;
}

export interface RtcpSub {
  frame: number;
  /** The whole sub-packet (header included, padding included). */
  bytes: Uint8Array;
  pt: number;
  fmt: number;
}

/** RTCP sub-packets of datagrams that look like RTCP (V=2, PT 192..223 in the second byte). */
export function rtcpSubPackets(datagrams: FixtureDatagram[]): RtcpSub[] {
  const out: RtcpSub[] = [];
  for (const d of datagrams) {
    const p = d.payload;
    if (p.length < 4 || (p[0] ?? 0) >> 6 !== 2) continue;
    const pt0 = p[1] ?? 0;
    if (pt0 < 192 || pt0 > 223) continue;
    let off = 0;
    while (off + 4 <= p.length) {
      const size = ((((p[off + 2] ?? 0) << 8) | (p[off + 3] ?? 0)) + 1) * 4;
      if (off + size > p.length || (p[off] ?? 0) >> 6 !== 2) break;
      out.push({ frame: d.frame, bytes: p.subarray(off, off + size), pt: p[off + 1] ?? 0, fmt: (p[off] ?? 0) & 0x1f });
      off += size;
    }
  }
  return out;
}

/** A classic pcap (LINKTYPE_RAW = 101) with one IPv4/UDP datagram per payload. */
export function buildRawIpPcap(payloads: Uint8Array[], srcPort: number, dstPort: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const gh = new DataView(new ArrayBuffer(24));
  gh.setUint32(0, 0xa1b2c3d4, true);
  gh.setUint16(4, 2, true);
  gh.setUint16(6, 4, true);
  gh.setUint32(16, 65535, true);
  gh.setUint32(20, 101, true);
  parts.push(new Uint8Array(gh.buffer));
  payloads.forEach((payload, i) => {
    const len = 20 + 8 + payload.length;
    const pkt = new Uint8Array(len);
    const dv = new DataView(pkt.buffer);
    pkt[0] = 0x45;
    dv.setUint16(2, len);
    pkt[8] = 64;
    pkt[9] = 17;
    pkt.set([10, 0, 0, 1], 12);
    pkt.set([10, 0, 0, 2], 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += dv.getUint16(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    dv.setUint16(10, ~sum & 0xffff);
    dv.setUint16(20, srcPort);
    dv.setUint16(22, dstPort);
    dv.setUint16(24, 8 + payload.length);
    pkt.set(payload, 28);
    const rh = new DataView(new ArrayBuffer(16));
    rh.setUint32(0, 1_700_000_000 + i, true);
    rh.setUint32(8, len, true);
    rh.setUint32(12, len, true);
    parts.push(new Uint8Array(rh.buffer), pkt);
  });
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
