/**
 * RTCP sender report (RFC 3550 §6.4.1, PT 200): the sender info, then RC report blocks
 * (report-block.ts). An RR (PT 201) is the same without the sender info.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|   RC    |   PT=SR=200   |             length            |  0
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         SSRC of sender                        |  4
 *  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *  |              NTP timestamp, most significant word             |  8
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |             NTP timestamp, least significant word             | 12
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         RTP timestamp                         | 16
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     sender's packet count                     | 20
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                      sender's octet count                     | 24
 *  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *  :                     RC report blocks (24 bytes)               : 28
 */
import { readU32 } from '../bytes.js';
import { ParseError } from '../errors.js';
import type { RtcpView } from './header.js';

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
