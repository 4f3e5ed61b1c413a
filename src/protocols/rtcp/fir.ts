/**
 * RTCP full intra request (RFC 5104 §4.3.1): PSFB (PT 206) FMT 4, the feedback header of header.ts
 * (media source SSRC 0) followed by one or more 8-byte entries:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                              SSRC                             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Seq nr.       |    Reserved                                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * (A PLI, PSFB FMT 1, has no FCI: its kind in the RtcpView is all there is to read.)
 */
import type { RtcpView } from './header.js';

/** Number of FIR entries of a parsed FIR. */
export function firEntryCount(view: RtcpView): number {
  return view.kind === 'fir' ? view.fciLength / 8 : 0;
}
