/**
 * Rewriting a compound RTCP packet without some of its sub-packets (in place or into another
 * buffer), e.g. to strip the feedback the AP answers for itself before forwarding the rest.
 */
import { ParseError } from '../errors.js';
import { RtcpCompoundCursor, validateCompound } from './compound.js';
import type { RtcpView } from './header.js';

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
