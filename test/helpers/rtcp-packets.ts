/**
 * RTCP packet builders for tests and synthetic traffic (cold path, allocate): SR, RR, generic
 * RTPFB/PSFB, NACK, PLI, REMB, compounds and padding. zhuge itself never builds these.
 */
import { ParseError } from '../../src/protocols/errors.js';
import {
  PSFB_FMT_AFB,
  PSFB_FMT_PLI,
  REMB_UNIQUE,
  REPORT_BLOCK_LENGTH,
  RTCP_PT_PSFB,
  RTCP_PT_RR,
  RTCP_PT_RTPFB,
  RTCP_PT_SR,
  RTPFB_FMT_NACK,
} from '../../src/protocols/rtcp/index.js';

function header(out: DataView, o: number, count: number, pt: number, byteLength: number): void {
  out.setUint8(o, 0x80 | (count & 0x1f));
  out.setUint8(o + 1, pt);
  out.setUint16(o + 2, byteLength / 4 - 1);
}

export interface ReportBlockSpec {
  ssrc: number;
  fractionLost?: number;
  cumulativeLost?: number;
  extendedHighestSeq?: number;
  jitter?: number;
  lastSr?: number;
  delaySinceLastSr?: number;
}

function writeBlocks(dv: DataView, o: number, blocks: readonly ReportBlockSpec[]): void {
  for (const b of blocks) {
    dv.setUint32(o, b.ssrc >>> 0);
    dv.setUint32(o + 4, (((b.fractionLost ?? 0) & 0xff) << 24) | ((b.cumulativeLost ?? 0) & 0xffffff));
    dv.setUint32(o + 8, (b.extendedHighestSeq ?? 0) >>> 0);
    dv.setUint32(o + 12, (b.jitter ?? 0) >>> 0);
    dv.setUint32(o + 16, (b.lastSr ?? 0) >>> 0);
    dv.setUint32(o + 20, (b.delaySinceLastSr ?? 0) >>> 0);
    o += REPORT_BLOCK_LENGTH;
  }
}

export function buildSr(
  senderSsrc: number,
  info: { ntpSeconds: number; ntpFraction: number; rtpTimestamp: number; packetCount: number; octetCount: number },
  blocks: readonly ReportBlockSpec[] = [],
): Uint8Array {
  if (blocks.length > 31) throw new ParseError('bad-header', 'rtcp-build');
  const len = 28 + blocks.length * REPORT_BLOCK_LENGTH;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  header(dv, 0, blocks.length, RTCP_PT_SR, len);
  dv.setUint32(4, senderSsrc >>> 0);
  dv.setUint32(8, info.ntpSeconds >>> 0);
  dv.setUint32(12, info.ntpFraction >>> 0);
  dv.setUint32(16, info.rtpTimestamp >>> 0);
  dv.setUint32(20, info.packetCount >>> 0);
  dv.setUint32(24, info.octetCount >>> 0);
  writeBlocks(dv, 28, blocks);
  return out;
}

export function buildRr(senderSsrc: number, blocks: readonly ReportBlockSpec[] = []): Uint8Array {
  if (blocks.length > 31) throw new ParseError('bad-header', 'rtcp-build');
  const len = 8 + blocks.length * REPORT_BLOCK_LENGTH;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  header(dv, 0, blocks.length, RTCP_PT_RR, len);
  dv.setUint32(4, senderSsrc >>> 0);
  writeBlocks(dv, 8, blocks);
  return out;
}

/** Generic RTPFB/PSFB message with an arbitrary FCI (length a multiple of 4). */
export function buildFeedback(pt: number, fmt: number, senderSsrc: number, mediaSsrc: number, fci: Uint8Array): Uint8Array {
  if (fci.length % 4 !== 0) throw new ParseError('bad-length', 'rtcp-build');
  const len = 12 + fci.length;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  header(dv, 0, fmt, pt, len);
  dv.setUint32(4, senderSsrc >>> 0);
  dv.setUint32(8, mediaSsrc >>> 0);
  out.set(fci, 12);
  return out;
}

/** Generic NACK for the given lost sequence numbers (packed into PID/BLP entries). */
export function buildNack(senderSsrc: number, mediaSsrc: number, lostSeqs: readonly number[]): Uint8Array {
  if (lostSeqs.length === 0) throw new ParseError('bad-length', 'rtcp-build');
  const entries: number[] = [];
  let pid = -1;
  let blp = 0;
  for (const s of lostSeqs) {
    const seq = s & 0xffff;
    const d = (seq - pid) & 0xffff;
    if (pid >= 0 && d >= 1 && d <= 16) blp |= 1 << (d - 1);
    else {
      if (pid >= 0) entries.push(((pid << 16) | blp) >>> 0);
      pid = seq;
      blp = 0;
    }
  }
  entries.push(((pid << 16) | blp) >>> 0);
  const fci = new Uint8Array(entries.length * 4);
  const dv = new DataView(fci.buffer);
  entries.forEach((e, i) => dv.setUint32(i * 4, e));
  return buildFeedback(RTCP_PT_RTPFB, RTPFB_FMT_NACK, senderSsrc, mediaSsrc, fci);
}

export function buildPli(senderSsrc: number, mediaSsrc: number): Uint8Array {
  return buildFeedback(RTCP_PT_PSFB, PSFB_FMT_PLI, senderSsrc, mediaSsrc, new Uint8Array(0));
}

/** REMB with bitrate encoded as mantissa(18 bits) x 2^exp (rounded down). */
export function buildRemb(senderSsrc: number, bitrateBps: number, ssrcs: readonly number[]): Uint8Array {
  let exp = 0;
  let m = Math.floor(bitrateBps);
  while (m > 0x3ffff) {
    m = Math.floor(m / 2);
    exp++;
  }
  const fci = new Uint8Array(8 + ssrcs.length * 4);
  const dv = new DataView(fci.buffer);
  dv.setUint32(0, REMB_UNIQUE);
  fci[4] = ssrcs.length;
  fci[5] = (exp << 2) | (m >> 16);
  dv.setUint16(6, m & 0xffff);
  ssrcs.forEach((s, i) => dv.setUint32(8 + i * 4, s >>> 0));
  return buildFeedback(RTCP_PT_PSFB, PSFB_FMT_AFB, senderSsrc, 0, fci);
}

/** Concatenates sub-packets into a compound. */
export function buildCompound(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Returns a copy of a single sub-packet with `pad` bytes of padding (P bit, count byte). pad % 4 === 0. */
export function withPadding(packet: Uint8Array, pad: number): Uint8Array {
  if (pad <= 0 || pad % 4 !== 0 || pad > 255 || packet.length < 4) throw new ParseError('bad-length', 'rtcp-build');
  const out = new Uint8Array(packet.length + pad);
  out.set(packet);
  out[0] = out[0]! | 0x20;
  const words = out.length / 4 - 1;
  out[2] = words >> 8;
  out[3] = words & 0xff;
  out[out.length - 1] = pad;
  return out;
}
