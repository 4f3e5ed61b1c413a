/**
 * Test-only: a minimal pcapng walker (SHB/IDB/EPB, µs timestamps, Ethernet/IPv4/UDP) returning
 * each UDP payload with its capture time, plus a minimal RTP header reader for the transport-wide
 * sequence number. Independent of src/protocols so that the recorder is checked against a
 * second implementation.
 */
import { readFileSync } from 'node:fs';

export const CHROMIUM_PCAP = new URL('../../../shared/fixtures/webrtc/chromium-plaintext-4s.pcap', import.meta.url);
/** a=extmap:4 ...transport-wide-cc-extensions-01 in the fixture's SDP. */
export const TWCC_EXT_ID = 4;

export interface TimedDatagram {
  tUs: number;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function readTimedUdp(file: URL): TimedDatagram[] {
  const buf = new Uint8Array(readFileSync(file));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: TimedDatagram[] = [];
  let off = 0;
  let le = true;
  while (off + 12 <= buf.length) {
    if (dv.getUint32(off, true) === 0x0a0d0d0a) le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
    const type = dv.getUint32(off, le);
    const total = dv.getUint32(off + 4, le);
    if (total < 12 || off + total > buf.length) throw new Error('bad pcapng block');
    if (type === 6) {
      const tUs = dv.getUint32(off + 12, le) * 2 ** 32 + dv.getUint32(off + 16, le);
      const capLen = dv.getUint32(off + 20, le);
      const pkt = buf.subarray(off + 28, off + 28 + capLen);
      if (pkt.length >= 42 && pkt[12] === 0x08 && pkt[13] === 0x00 && pkt[23] === 17) {
        const u = 14 + ((pkt[14] ?? 0) & 0x0f) * 4;
        const udpLen = ((pkt[u + 4] ?? 0) << 8) | (pkt[u + 5] ?? 0);
        out.push({
          tUs,
          srcPort: ((pkt[u] ?? 0) << 8) | (pkt[u + 1] ?? 0),
          dstPort: ((pkt[u + 2] ?? 0) << 8) | (pkt[u + 3] ?? 0),
          payload: pkt.subarray(u + 8, Math.min(pkt.length, u + udpLen)),
        });
      }
    }
    off += total;
  }
  return out;
}

/** Transport-wide sequence number of an RTP packet (one- or two-byte header extensions), or undefined. */
export function twccSeqOf(p: Uint8Array, extId: number): number | undefined {
  if (p.length < 12 || (p[0] ?? 0) >> 6 !== 2) return undefined;
  const pt = (p[1] ?? 0) & 0x7f;
  if (pt >= 64 && pt <= 95) return undefined; // RTCP
  if (((p[0] ?? 0) & 0x10) === 0) return undefined;
  const cc = (p[0] ?? 0) & 0x0f;
  const x = 12 + 4 * cc;
  if (x + 4 > p.length) return undefined;
  const profile = ((p[x] ?? 0) << 8) | (p[x + 1] ?? 0);
  const end = x + 4 + 4 * (((p[x + 2] ?? 0) << 8) | (p[x + 3] ?? 0));
  let i = x + 4;
  const twoByte = (profile & 0xfff0) === 0x1000;
  if (profile !== 0xbede && !twoByte) return undefined;
  while (i < end && i < p.length) {
    const b = p[i] ?? 0;
    if (b === 0) {
      i++;
      continue;
    }
    const id = twoByte ? b : b >> 4;
    const len = twoByte ? (p[i + 1] ?? 0) : (b & 0x0f) + 1;
    const data = i + (twoByte ? 2 : 1);
    if (id === extId && len === 2) return ((p[data] ?? 0) << 8) | (p[data + 1] ?? 0);
    if (!twoByte && id === 15) return undefined;
    i = data + len;
  }
  return undefined;
}
