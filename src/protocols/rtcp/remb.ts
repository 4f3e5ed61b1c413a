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
import { readU16 } from '../bytes.js';
import { ParseError } from '../errors.js';
import type { RtcpView } from './header.js';

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
