/**
 * RTCP compound packets (RFC 3550 §6), feedback messages (RFC 4585 / RFC 5104), reduced-size
 * RTCP (RFC 5506), and the sub-packet types a WebRTC sender and receiver exchange.
 *
 * Common header of every sub-packet (a compound is several of these back to back):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P| RC/FMT  |      PT       |   length (32-bit words - 1)   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  SSRC of sender / packet sender               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * SR (200):   sender SSRC | NTP ts (64) | RTP ts | packet count | octet count | RC report blocks
 * RR (201):   sender SSRC | RC report blocks
 * report block (24 bytes):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 SSRC of source being reported                 |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | fraction lost |   cumulative number of packets lost (s24)     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |       extended highest sequence number received               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  interarrival jitter  |  last SR (LSR)  |  delay since last SR |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * SDES (202): SC chunks | BYE (203): SC SSRCs [+ reason] | APP (204): SSRC, name(4), data
 * XR (207):   sender SSRC | report blocks (BT, type-specific, block length)
 *
 * RTPFB (205) / PSFB (206) (RFC 4585 §6.1):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|   FMT   |      PT       |          length               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  SSRC of packet sender                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  SSRC of media source                         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  :            Feedback Control Information (FCI)                 :
 *  RTPFB FMT 1 generic NACK: FCI = n x [PID (16) | BLP (16)]
 *  RTPFB FMT 15 transport-wide CC, FMT 11 RFC 8888 CCFB: FCI parsed by twcc.ts / ccfb.ts
 *    (RFC 8888 has no media SSRC word: its "FCI" here starts at byte 8)
 *  PSFB FMT 1 PLI: no FCI; FMT 4 FIR: n x [SSRC | seq nr (8) | reserved (24)]
 *  PSFB FMT 15 AFB 'REMB': 'R''E''M''B' | num SSRC (8) | BR exp (6) | BR mantissa (18) | SSRCs
 *
 * A compound (RFC 3550 §6.1) must start with SR or RR and only its last sub-packet may be padded;
 * reduced-size RTCP (RFC 5506, SDP a=rtcp-rsize, what Chromium sends its transport-wide feedback
 * as) lifts the first-packet rule: a single non-SR/RR sub-packet alone is valid.
 */
import { readU32 } from './bytes.js';
import { ParseError, type MalformedReason } from './errors.js';

export const RTCP_HEADER_LENGTH = 4;
export const RTCP_PT_SR = 200;
export const RTCP_PT_RR = 201;
export const RTCP_PT_SDES = 202;
export const RTCP_PT_BYE = 203;
export const RTCP_PT_APP = 204;
export const RTCP_PT_RTPFB = 205;
export const RTCP_PT_PSFB = 206;
export const RTCP_PT_XR = 207;
export const RTPFB_FMT_NACK = 1;
export const RTPFB_FMT_CCFB = 11;
export const RTPFB_FMT_TWCC = 15;
export const PSFB_FMT_PLI = 1;
export const PSFB_FMT_FIR = 4;
export const PSFB_FMT_AFB = 15;
export const REPORT_BLOCK_LENGTH = 24;
const REMB_UNIQUE = 0x52454d42; // 'REMB'

export type RtcpKind =
  | 'sr'
  | 'rr'
  | 'sdes'
  | 'bye'
  | 'app'
  | 'nack'
  | 'twcc'
  | 'ccfb'
  | 'rtpfb-other'
  | 'pli'
  | 'fir'
  | 'remb'
  | 'psfb-other'
  | 'xr'
  | 'unknown';

/** One RTCP sub-packet, as exposed by the compound cursor. */
export interface RtcpView {
  /** Offset of this sub-packet's header. */
  offset: number;
  /** Total bytes of this sub-packet ((length + 1) x 4), padding included. */
  byteLength: number;
  padding: boolean;
  /** Padding bytes at the end (count byte included), 0 when P = 0. */
  paddingLength: number;
  /** RC / SC / FMT / subtype: the 5 low bits of byte 0. */
  count: number;
  packetType: number;
  kind: RtcpKind;
  /** Sender SSRC (the first word after the header), -1 when the sub-packet is only 4 bytes. */
  senderSsrc: number;
  /** Media source SSRC of RTPFB/PSFB (not RFC 8888), -1 otherwise. */
  mediaSsrc: number;
  /** SR/RR: offset of the first report block and their number; -1 / 0 otherwise. */
  reportBlocksOffset: number;
  reportCount: number;
  /**
   * Feedback messages: offset/length of the FCI (padding excluded). RFC 8888 CCFB: everything
   * after the sender SSRC. XR: the report blocks. APP: the application data. -1 / 0 otherwise.
   */
  fciOffset: number;
  fciLength: number;
}

export function newRtcpView(): RtcpView {
  return {
    offset: 0,
    byteLength: 0,
    padding: false,
    paddingLength: 0,
    count: 0,
    packetType: 0,
    kind: 'unknown',
    senderSsrc: -1,
    mediaSsrc: -1,
    reportBlocksOffset: -1,
    reportCount: 0,
    fciOffset: -1,
    fciLength: 0,
  };
}

function u16(buf: Uint8Array, o: number): number {
  return (buf[o]! << 8) | buf[o + 1]!;
}
/** Non-throwing core of parseRtcpPacket(): returns null when `out` was filled, else the reason. */
function decodeRtcpPacket(buf: Uint8Array, offset: number, end: number, out: RtcpView): MalformedReason | null {
  if (end > buf.length || offset < 0 || offset + RTCP_HEADER_LENGTH > end) return 'truncated';
  const b0 = buf[offset]!;
  if (b0 >> 6 !== 2) return 'bad-version';
  const pt = buf[offset + 1]!;
  if (pt < 192 || pt > 223) return 'bad-header';
  const byteLength = (u16(buf, offset + 2) + 1) * 4;
  if (offset + byteLength > end) return 'truncated';
  const padding = (b0 & 0x20) !== 0;
  let pad = 0;
  if (padding) {
    pad = buf[offset + byteLength - 1]!;
    if (pad === 0 || pad > byteLength - RTCP_HEADER_LENGTH) return 'bad-length';
  }
  const body = byteLength - pad; // bytes of header + content, padding excluded
  const count = b0 & 0x1f;
  out.offset = offset;
  out.byteLength = byteLength;
  out.padding = padding;
  out.paddingLength = pad;
  out.count = count;
  out.packetType = pt;
  out.senderSsrc = byteLength >= 8 ? readU32(buf, offset + 4) : -1;
  out.mediaSsrc = -1;
  out.reportBlocksOffset = -1;
  out.reportCount = 0;
  out.fciOffset = -1;
  out.fciLength = 0;
  switch (pt) {
    case RTCP_PT_SR:
    case RTCP_PT_RR: {
      const fixed = pt === RTCP_PT_SR ? 28 : 8;
      if (body < fixed + count * REPORT_BLOCK_LENGTH) return 'bad-length';
      out.kind = pt === RTCP_PT_SR ? 'sr' : 'rr';
      out.reportBlocksOffset = offset + fixed;
      out.reportCount = count;
      return null;
    }
    case RTCP_PT_SDES:
      if (count > 0 && body < 8) return 'bad-length';
      out.kind = 'sdes';
      return null;
    case RTCP_PT_BYE:
      if (body < 4 + count * 4) return 'bad-length';
      out.kind = 'bye';
      return null;
    case RTCP_PT_APP:
      if (body < 12) return 'bad-length';
      out.kind = 'app';
      out.fciOffset = offset + 12;
      out.fciLength = body - 12;
      return null;
    case RTCP_PT_XR:
      if (body < 8) return 'bad-length';
      out.kind = 'xr';
      out.fciOffset = offset + 8;
      out.fciLength = body - 8;
      return null;
    case RTCP_PT_RTPFB:
      if (count === RTPFB_FMT_CCFB) {
        if (body < 12) return 'bad-length'; // at least the report timestamp
        out.kind = 'ccfb';
        out.fciOffset = offset + 8;
        out.fciLength = body - 8;
        return null;
      }
      if (body < 12) return 'bad-length';
      out.mediaSsrc = readU32(buf, offset + 8);
      out.fciOffset = offset + 12;
      out.fciLength = body - 12;
      if (count === RTPFB_FMT_NACK) {
        if (out.fciLength < 4 || out.fciLength % 4 !== 0) return 'bad-length';
        out.kind = 'nack';
      } else if (count === RTPFB_FMT_TWCC) {
        if (out.fciLength < 8) return 'bad-length';
        out.kind = 'twcc';
      } else {
        out.kind = 'rtpfb-other';
      }
      return null;
    case RTCP_PT_PSFB:
      if (body < 12) return 'bad-length';
      out.mediaSsrc = readU32(buf, offset + 8);
      out.fciOffset = offset + 12;
      out.fciLength = body - 12;
      if (count === PSFB_FMT_PLI) out.kind = 'pli';
      else if (count === PSFB_FMT_FIR) {
        if (out.fciLength < 8 || out.fciLength % 8 !== 0) return 'bad-length';
        out.kind = 'fir';
      } else if (count === PSFB_FMT_AFB && out.fciLength >= 8 && readU32(buf, offset + 12) === REMB_UNIQUE) {
        const n = buf[offset + 16]!;
        if (out.fciLength < 8 + n * 4) return 'bad-length';
        out.kind = 'remb';
      } else out.kind = 'psfb-other';
      return null;
    default:
      out.kind = 'unknown';
      return null;
  }
}

/**
 * Parses the sub-packet at `offset` (which must fit before `end`) into `out` and checks its
 * type-specific minimum size. Unknown packet types are reported as kind 'unknown' (not an error)
 * as long as the header is well formed.
 */
export function parseRtcpPacket(buf: Uint8Array, offset: number, end: number, out: RtcpView): void {
  const r = decodeRtcpPacket(buf, offset, end, out);
  if (r !== null) throw new ParseError(r, 'rtcp');
}

/**
 * Cursor over the sub-packets of a compound in buf[offset, end). reset() checks nothing; next()
 * parses the next sub-packet into `view` (throws ParseError if it is malformed or does not fit).
 * Use validateCompound() first when the whole chain must be known good before acting on it.
 */
export class RtcpCompoundCursor {
  readonly view: RtcpView = newRtcpView();
  /** Index of the current sub-packet (0-based), -1 before the first next(). */
  index = -1;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;

  reset(buf: Uint8Array, offset: number, end: number): this {
    this.buf = buf;
    this.pos = offset;
    this.end = end;
    this.index = -1;
    return this;
  }

  next(): boolean {
    if (this.pos >= this.end) return false;
    parseRtcpPacket(this.buf, this.pos, this.end, this.view);
    this.pos += this.view.byteLength;
    this.index++;
    return true;
  }
}

const scratchView = newRtcpView();
let lastReason: MalformedReason = 'truncated';

/** Non-throwing chain check: the number of sub-packets, or -1 (reason in lastReason). */
function checkCompound(buf: Uint8Array, offset: number, end: number, allowReducedSize: boolean): number {
  if (offset < 0 || offset >= end || end > buf.length) {
    lastReason = 'truncated';
    return -1;
  }
  const v = scratchView;
  let n = 0;
  let padded = false;
  let o = offset;
  while (o < end) {
    const r = decodeRtcpPacket(buf, o, end, v);
    if (r !== null) {
      lastReason = r;
      return -1;
    }
    if (padded || (n === 0 && !allowReducedSize && v.kind !== 'sr' && v.kind !== 'rr')) {
      lastReason = 'bad-header'; // padding before the last sub-packet / RFC 3550 first-packet rule
      return -1;
    }
    padded = v.padding;
    o += v.byteLength;
    n++;
  }
  return n;
}

/**
 * Checks that buf[offset, end) is exactly a chain of well-formed RTCP sub-packets, with padding
 * only on the last one. With `allowReducedSize` false, also enforces RFC 3550's "first sub-packet is
 * SR or RR". Returns the number of sub-packets.
 */
export function validateCompound(buf: Uint8Array, offset: number, end: number, allowReducedSize = true): number {
  const n = checkCompound(buf, offset, end, allowReducedSize);
  if (n < 0) throw new ParseError(lastReason, 'rtcp');
  return n;
}

/** Boolean validateCompound() (never throws, no exception on the failure path: cheap per packet). */
export function isValidCompound(buf: Uint8Array, offset: number, end: number, allowReducedSize = true): boolean {
  return checkCompound(buf, offset, end, allowReducedSize) > 0;
}

// ---------------------------------------------------------------------------------------------
// Report blocks, NACK, FIR, REMB.

export interface ReportBlockView {
  ssrc: number;
  fractionLost: number;
  /** Signed 24-bit cumulative number of packets lost. */
  cumulativeLost: number;
  extendedHighestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export function newReportBlockView(): ReportBlockView {
  return { ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 };
}

/** Reads report block `i` of a parsed SR/RR. */
export function readReportBlock(buf: Uint8Array, view: RtcpView, i: number, out: ReportBlockView): void {
  if (view.reportBlocksOffset < 0 || i < 0 || i >= view.reportCount) throw new ParseError('bad-header', 'rtcp-report-block');
  const o = view.reportBlocksOffset + i * REPORT_BLOCK_LENGTH;
  if (o + REPORT_BLOCK_LENGTH > buf.length) throw new ParseError('truncated', 'rtcp-report-block');
  out.ssrc = readU32(buf, o);
  out.fractionLost = buf[o + 4]!;
  out.cumulativeLost = ((buf[o + 5]! << 24) | (buf[o + 6]! << 16) | (buf[o + 7]! << 8)) >> 8;
  out.extendedHighestSeq = readU32(buf, o + 8);
  out.jitter = readU32(buf, o + 12);
  out.lastSr = readU32(buf, o + 16);
  out.delaySinceLastSr = readU32(buf, o + 20);
}

export interface SenderInfoView {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export function newSenderInfoView(): SenderInfoView {
  return { ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 };
}

/** Sender info of a parsed SR. */
export function readSenderInfo(buf: Uint8Array, view: RtcpView, out: SenderInfoView): void {
  if (view.kind !== 'sr') throw new ParseError('bad-header', 'rtcp-sr');
  const o = view.offset + 8;
  if (o + 20 > buf.length) throw new ParseError('truncated', 'rtcp-sr');
  out.ntpSeconds = readU32(buf, o);
  out.ntpFraction = readU32(buf, o + 4);
  out.rtpTimestamp = readU32(buf, o + 8);
  out.packetCount = readU32(buf, o + 12);
  out.octetCount = readU32(buf, o + 16);
}

/** Number of PID/BLP entries of a parsed generic NACK. */
export function nackEntryCount(view: RtcpView): number {
  return view.kind === 'nack' ? view.fciLength / 4 : 0;
}

/** Entry `i` of a parsed NACK as (PID << 16) | BLP (unsigned). */
export function readNackEntry(buf: Uint8Array, view: RtcpView, i: number): number {
  if (view.kind !== 'nack' || i < 0 || i >= view.fciLength / 4) throw new ParseError('bad-header', 'rtcp-nack');
  const o = view.fciOffset + i * 4;
  if (o + 4 > buf.length) throw new ParseError('truncated', 'rtcp-nack');
  return readU32(buf, o);
}

/** Calls fn(seq) for every sequence number a parsed NACK reports lost (PID, then BLP bits), in order. */
export function forEachNackedSeq(buf: Uint8Array, view: RtcpView, fn: (seq: number) => void): void {
  const n = nackEntryCount(view);
  for (let i = 0; i < n; i++) {
    const e = readNackEntry(buf, view, i);
    const pid = e >>> 16;
    fn(pid);
    for (let b = 0; b < 16; b++) if (e & (1 << b)) fn((pid + b + 1) & 0xffff);
  }
}

/** Number of FIR entries of a parsed FIR. */
export function firEntryCount(view: RtcpView): number {
  return view.kind === 'fir' ? view.fciLength / 8 : 0;
}

export interface RembView {
  bitrateBps: number;
  ssrcCount: number;
  /** Offset of the first SSRC in the REMB's list. */
  ssrcsOffset: number;
}

export function newRembView(): RembView {
  return { bitrateBps: 0, ssrcCount: 0, ssrcsOffset: 0 };
}

/** REMB fields of a parsed REMB (draft-alvestrand-rmcat-remb-03). */
export function readRemb(buf: Uint8Array, view: RtcpView, out: RembView): void {
  if (view.kind !== 'remb') throw new ParseError('bad-header', 'rtcp-remb');
  const o = view.fciOffset;
  if (o + 8 > buf.length) throw new ParseError('truncated', 'rtcp-remb');
  out.ssrcCount = buf[o + 4]!;
  const exp = buf[o + 5]! >> 2;
  const mantissa = ((buf[o + 5]! & 0x03) << 16) | (buf[o + 6]! << 8) | buf[o + 7]!;
  out.bitrateBps = mantissa * 2 ** exp;
  out.ssrcsOffset = o + 8;
}

// ---------------------------------------------------------------------------------------------
// Rewriting.

const rewriteCursor = new RtcpCompoundCursor();

/**
 * Copies the sub-packets of the compound buf[offset, end) for which `drop(view)` is false to
 * out[outOffset...] (out may be buf itself with outOffset <= offset: in-place compaction), and
 * returns the new compound's length in bytes (0 when everything was dropped: drop the datagram).
 * The whole chain is validated first, so a malformed compound throws before anything is written.
 * Padding stays with the sub-packet that carries it (RFC 3550 allows it only on the last one; if
 * that one is dropped, the result simply has no padding).
 */
export function rewriteCompoundWithout(
  buf: Uint8Array,
  offset: number,
  end: number,
  drop: (view: RtcpView) => boolean,
  out: Uint8Array = buf,
  outOffset: number = offset,
): number {
  validateCompound(buf, offset, end, true);
  if (out === buf && outOffset > offset) throw new ParseError('bad-header', 'rtcp-rewrite');
  const c = rewriteCursor.reset(buf, offset, end);
  let w = outOffset;
  while (c.next()) {
    const v = c.view;
    if (drop(v)) continue;
    if (w + v.byteLength > out.length) throw new ParseError('truncated', 'rtcp-rewrite');
    if (out === buf) {
      if (w !== v.offset) buf.copyWithin(w, v.offset, v.offset + v.byteLength);
    } else out.set(buf.subarray(v.offset, v.offset + v.byteLength), w);
    w += v.byteLength;
  }
  return w - outOffset;
}

// ---------------------------------------------------------------------------------------------
// Builders (cold path: tests, synthetic traffic).

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
