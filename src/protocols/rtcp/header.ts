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
 * report block (24 bytes): see report-block.ts
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
 * A compound (RFC 3550 §6.1) is several sub-packets back to back: compound.ts.
 */
import { readU16, readU32 } from '../bytes.js';
import { ParseError, type MalformedReason } from '../errors.js';

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
/** First FCI word of a REMB (PSFB FMT 15): 'R''E''M''B'. */
export const REMB_UNIQUE = 0x52454d42;

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

/**
 * Non-throwing core of parseRtcpPacket(): returns null when `out` was filled, else the reason
 * (compound.ts checks whole chains with it without throwing).
 */
export function decodeRtcpPacket(buf: Uint8Array, offset: number, end: number, out: RtcpView): MalformedReason | null {
  if (end > buf.length || offset < 0 || offset + RTCP_HEADER_LENGTH > end) return 'truncated';
  const b0 = buf[offset]!;
  if (b0 >> 6 !== 2) return 'bad-version';
  const pt = buf[offset + 1]!;
  if (pt < 192 || pt > 223) return 'bad-header';
  const byteLength = (readU16(buf, offset + 2) + 1) * 4;
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
      setFci(out, offset, 12, body);
      return null;
    case RTCP_PT_XR:
      if (body < 8) return 'bad-length';
      out.kind = 'xr';
      setFci(out, offset, 8, body);
      return null;
    case RTCP_PT_RTPFB:
    case RTCP_PT_PSFB:
      if (pt === RTCP_PT_RTPFB && count === RTPFB_FMT_CCFB) {
        if (body < 12) return 'bad-length'; // at least the report timestamp
        out.kind = 'ccfb';
        setFci(out, offset, 8, body);
        return null;
      }
      if (body < 12) return 'bad-length';
      out.mediaSsrc = readU32(buf, offset + 8);
      setFci(out, offset, 12, body);
      return pt === RTCP_PT_RTPFB ? decodeRtpfbKind(count, out) : decodePsfbKind(buf, count, out);
    default:
      out.kind = 'unknown';
      return null;
  }
}

/** Points the view's FCI at the sub-packet's bytes [headerBytes, body). */
function setFci(out: RtcpView, offset: number, headerBytes: number, body: number): void {
  out.fciOffset = offset + headerBytes;
  out.fciLength = body - headerBytes;
}

/** The kind of an RTPFB with a media SSRC (FCI already set), after its FMT's minimum size. */
function decodeRtpfbKind(fmt: number, out: RtcpView): MalformedReason | null {
  if (fmt === RTPFB_FMT_NACK) {
    if (out.fciLength < 4 || out.fciLength % 4 !== 0) return 'bad-length';
    out.kind = 'nack';
  } else if (fmt === RTPFB_FMT_TWCC) {
    if (out.fciLength < 8) return 'bad-length';
    out.kind = 'twcc';
  } else {
    out.kind = 'rtpfb-other';
  }
  return null;
}

/** The kind of a PSFB (FCI already set), after its FMT's minimum size. */
function decodePsfbKind(buf: Uint8Array, fmt: number, out: RtcpView): MalformedReason | null {
  const fci = out.fciOffset;
  if (fmt === PSFB_FMT_PLI) out.kind = 'pli';
  else if (fmt === PSFB_FMT_FIR) {
    if (out.fciLength < 8 || out.fciLength % 8 !== 0) return 'bad-length';
    out.kind = 'fir';
  } else if (fmt === PSFB_FMT_AFB && out.fciLength >= 8 && readU32(buf, fci) === REMB_UNIQUE) {
    const n = buf[fci + 4]!;
    if (out.fciLength < 8 + n * 4) return 'bad-length';
    out.kind = 'remb';
  } else out.kind = 'psfb-other';
  return null;
}

/**
 * Writes the 4-byte common header of a sub-packet of `byteLength` bytes (padding included, a
 * multiple of 4) at `o`: V=2, the P bit, `count` (RC / SC / FMT) and `packetType`. Returns o + 4.
 */
export function writeRtcpHeader(
  buf: Uint8Array,
  o: number,
  padding: boolean,
  count: number,
  packetType: number,
  byteLength: number,
): number {
  buf[o] = 0x80 | (padding ? 0x20 : 0) | count;
  buf[o + 1] = packetType;
  const words = byteLength / 4 - 1;
  buf[o + 2] = words >>> 8;
  buf[o + 3] = words & 0xff;
  return o + RTCP_HEADER_LENGTH;
}

/**
 * Checks the common header of one RTPFB sub-packet of format `fmt` at `offset` (`length` bytes of
 * `buf` available for it, its own size from the length field must fit) and returns where its
 * content ends, padding excluded. With `wordPadding`, a padding count that is not a multiple of 4
 * is rejected too. Throws ParseError(reason, `what`): the shared preamble of the FMT parsers
 * (twcc.ts, ccfb.ts), which read missing bytes as 0 rather than trusting the caller.
 */
export function rtpfbContentEnd(
  buf: Uint8Array,
  offset: number,
  length: number,
  fmt: number,
  what: string,
  wordPadding: boolean,
): number {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
    throw new ParseError('bad-length', what);
  }
  if (offset + length > buf.length) throw new ParseError('truncated', what);
  if (length < 4) throw new ParseError('truncated', what);
  const b0 = buf[offset] ?? 0;
  if (b0 >> 6 !== 2) throw new ParseError('bad-version', what);
  if ((buf[offset + 1] ?? 0) !== RTCP_PT_RTPFB || (b0 & 0x1f) !== fmt) throw new ParseError('unsupported', what);
  const size = (((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0)) * 4 + 4;
  if (size > length) throw new ParseError('truncated', what);
  const end = offset + size;
  if ((b0 & 0x20) === 0) return end;
  const pad = buf[end - 1] ?? 0;
  if (pad === 0 || pad > size - 4 || (wordPadding && pad % 4 !== 0)) throw new ParseError('bad-length', what);
  return end - pad;
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

