/**
 * Test-only helper: minimal pcapng reader (SHB/IDB/EPB) + Ethernet/IPv4/UDP walker for the
 * fixtures in shared/fixtures/webrtc (pcapng, Ethernet, IPv4, microsecond timestamps).
 * Deliberately tiny and independent of src/protocols' IP/UDP/pcap codecs.
 */
import { readFileSync } from 'node:fs';

export interface UdpDatagram {
  /** 1-based frame number, as tshark numbers them. */
  frame: number;
  tUs: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** The captured UDP payload (may be shorter than the datagram: snap length). */
  payload: Uint8Array;
  /** The UDP payload length on the wire (from the UDP header). */
  wireLength: number;
}

export const FIXTURES = new URL('../../../shared/fixtures/webrtc/', import.meta.url);

export function fixturePath(name: string): URL {
  return new URL(name, FIXTURES);
}

export function readUdpPayloads(file: URL): UdpDatagram[] {
  const buf = new Uint8Array(readFileSync(file));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: UdpDatagram[] = [];
  let off = 0;
  let le = true;
  let frame = 0;
  while (off + 12 <= buf.length) {
    const typeLE = dv.getUint32(off, true);
    if (typeLE === 0x0a0d0d0a) le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
    const type = dv.getUint32(off, le);
    const total = dv.getUint32(off + 4, le);
    if (total < 12 || off + total > buf.length) throw new Error('bad pcapng block');
    if (type === 6) {
      frame++;
      const tUs = dv.getUint32(off + 12, le) * 2 ** 32 + dv.getUint32(off + 16, le);
      const capLen = dv.getUint32(off + 20, le);
      const pkt = buf.subarray(off + 28, off + 28 + capLen);
      const d = udpOf(pkt, frame, tUs);
      if (d) out.push(d);
    }
    off += total;
  }
  return out;
}

function udpOf(pkt: Uint8Array, frame: number, tUs: number): UdpDatagram | null {
  if (pkt.length < 14 + 20 + 8) return null;
  if (((pkt[12]! << 8) | pkt[13]!) !== 0x0800) return null;
  const ip = 14;
  if (pkt[ip]! >> 4 !== 4 || pkt[ip + 9] !== 17) return null;
  const ihl = (pkt[ip]! & 0x0f) * 4;
  const udp = ip + ihl;
  const ipStr = (o: number): string => `${pkt[o]}.${pkt[o + 1]}.${pkt[o + 2]}.${pkt[o + 3]}`;
  const udpLen = (pkt[udp + 4]! << 8) | pkt[udp + 5]!;
  const wireLength = udpLen - 8;
  const payload = pkt.subarray(udp + 8, Math.min(pkt.length, udp + 8 + wireLength));
  return {
    frame,
    tUs,
    src: ipStr(ip + 12),
    dst: ipStr(ip + 16),
    srcPort: (pkt[udp]! << 8) | pkt[udp + 1]!,
    dstPort: (pkt[udp + 2]! << 8) | pkt[udp + 3]!,
    payload,
    wireLength,
  };
}
