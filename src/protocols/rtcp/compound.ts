/**
 * RTCP compound packets (RFC 3550 §6.1): sub-packets (header.ts) back to back in one datagram.
 *
 * A compound (RFC 3550 §6.1) must start with SR or RR and only its last sub-packet may be padded;
 * reduced-size RTCP (RFC 5506, SDP a=rtcp-rsize, what Chromium sends its transport-wide feedback
 * as) lifts the first-packet rule: a single non-SR/RR sub-packet alone is valid.
 */
import { ParseError, type MalformedReason } from '../errors.js';
import { decodeRtcpPacket, newRtcpView, parseRtcpPacket, type RtcpView } from './header.js';

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
