/**
 * RTCP generic NACK (RFC 4585 §6.2.1): RTPFB (PT 205) FMT 1, the feedback header of header.ts
 * followed by one or more 32-bit entries:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |            PID                |             BLP               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * PID: a lost sequence number; BLP bit i set: PID + i + 1 lost too.
 */
import { readU32 } from '../bytes.js';
import { ParseError } from '../errors.js';
import type { RtcpView } from './header.js';

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
