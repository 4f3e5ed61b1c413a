/**
 * Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03): PSFB (PT 206) FMT 15
 * (application layer feedback), the feedback header of header.ts (media source SSRC 0) and:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Unique identifier 'R' 'E' 'M' 'B'                            |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Num SSRC     | BR Exp    |  BR Mantissa                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   SSRC feedback                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  ...                                                          |
 *
 * Bitrate = BR Mantissa (18 bits) x 2^BR Exp (6 bits), in bits per second.
 */
import { readU16, writeU32 } from '../bytes.js';
import { ParseError } from '../errors.js';
import { outputBuffer } from '../out-buffer.js';
import { PSFB_FMT_AFB, REMB_UNIQUE, RTCP_PT_PSFB, writeRtcpHeader, type RtcpView } from './header.js';

/** The largest mantissa (18 bits). */
const REMB_MANTISSA_MAX = 0x3ffff;
/** The largest exponent (6 bits). */
const REMB_EXP_MAX = 63;
/** A bitrate no link reaches (~275 Gbit/s: mantissa 2^18 - 1, exponent 20): "no limit". */
export const REMB_UNLIMITED_BPS = REMB_MANTISSA_MAX * 2 ** 20;
/** Most SSRCs one REMB lists (the count is 8 bits). */
export const REMB_MAX_SSRCS = 255;

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
  const mantissa = ((buf[o + 5]! & 0x03) << 16) | readU16(buf, o + 6);
  out.bitrateBps = mantissa * 2 ** exp;
  out.ssrcsOffset = o + 8;
}

/** The size of a REMB listing `ssrcCount` SSRCs: header, sender and media SSRCs, 'REMB', count/BR, the list. */
export function rembBytes(ssrcCount: number): number {
  return 20 + 4 * ssrcCount;
}

/**
 * Serializes a REMB from `senderSsrc` announcing `bitrateBps` (rounded down to what mantissa x
 * 2^exp can say: a cap is never raised by its encoding) for the media SSRCs `ssrcs` (media
 * source SSRC 0, as the draft says). Writes into `out` at `outOffset` when given (RangeError if
 * it does not fit), else into a new array. RangeError on a negative or non-finite bitrate or more
 * than 255 SSRCs.
 */
export function serializeRemb(senderSsrc: number, bitrateBps: number, ssrcs: readonly number[], out?: Uint8Array, outOffset = 0): Uint8Array {
  if (!(bitrateBps >= 0) || !Number.isFinite(bitrateBps)) throw new RangeError(`remb: bitrate must be finite and >= 0 (got ${bitrateBps})`);
  if (ssrcs.length > REMB_MAX_SSRCS) throw new RangeError(`remb: at most ${REMB_MAX_SSRCS} SSRCs (got ${ssrcs.length})`);
  let mantissa = Math.floor(bitrateBps);
  let exp = 0;
  while (mantissa > REMB_MANTISSA_MAX && exp < REMB_EXP_MAX) {
    exp++;
    mantissa = Math.floor(bitrateBps / 2 ** exp);
  }
  mantissa = Math.min(mantissa, REMB_MANTISSA_MAX);
  const size = rembBytes(ssrcs.length);
  const { buf, offset: o } = outputBuffer('remb', size, out, outOffset);
  let pos = writeRtcpHeader(buf, o, false, PSFB_FMT_AFB, RTCP_PT_PSFB, size);
  pos = writeU32(buf, pos, senderSsrc >>> 0);
  pos = writeU32(buf, pos, 0);
  pos = writeU32(buf, pos, REMB_UNIQUE);
  buf[pos++] = ssrcs.length;
  buf[pos++] = (exp << 2) | (mantissa >>> 16);
  buf[pos++] = (mantissa >>> 8) & 0xff;
  buf[pos++] = mantissa & 0xff;
  for (const ssrc of ssrcs) pos = writeU32(buf, pos, ssrc >>> 0);
  return o === 0 && buf.length === size ? buf : buf.subarray(o, o + size);
}
