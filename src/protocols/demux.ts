/**
 * First-byte demultiplexing of the protocols that share one UDP 5-tuple in WebRTC
 * (RFC 7983 §7, updated by RFC 9443; RTP/RTCP split per RFC 5761 §4).
 *
 *   first byte   0 1 2 3 4 5 6 7          second byte (RTP/RTCP only)
 *               +-+-+-+-+-+-+-+-+        +-+-+-+-+-+-+-+-+
 *               |B B B B B B B B|        |M|  PT (7)     |   RTP
 *               +-+-+-+-+-+-+-+-+        +-+-+-+-+-+-+-+-+
 *                                        |  PT (8)       |   RTCP: 192..223 (SR 200, RR 201, ...)
 *                                        +-+-+-+-+-+-+-+-+
 *
 *        [0..3]     -> STUN
 *       [16..19]    -> ZRTP
 *       [20..63]    -> DTLS (incl. the DTLS 1.3 unified header 0b001xxxxx)
 *       [64..79]    -> TURN channel
 *      [128..191]   -> RTP or RTCP: RTCP when the second byte (M|PT) is in 192..223
 *        other      -> unknown (RFC 9443 puts QUIC in 64..127 when no TURN channel is in use:
 *                      that split needs context the caller has; see src/protocols/quic.ts)
 *
 * RFC 5761 §4: RTP payload types 64..95 are not to be used with rtcp-mux precisely because, with
 * the marker bit set, they alias RTCP packet types 192..223.
 */

export type DemuxClass = 'stun' | 'zrtp' | 'dtls' | 'turn-channel' | 'rtp' | 'rtcp' | 'unknown';

/** Classifies a datagram on a multiplexed port from its first two bytes (never throws). */
export function demuxClass(buf: Uint8Array, offset = 0, end = buf.length): DemuxClass {
  if (offset < 0 || offset >= end || end > buf.length) return 'unknown';
  const b = buf[offset]!;
  if (b <= 3) return 'stun';
  if (b >= 16 && b <= 19) return 'zrtp';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 64 && b <= 79) return 'turn-channel';
  if (b >= 128 && b <= 191) {
    if (offset + 1 >= end) return 'unknown';
    const pt = buf[offset + 1]!;
    return pt >= 192 && pt <= 223 ? 'rtcp' : 'rtp';
  }
  return 'unknown';
}

/** True when an RTP/RTCP-range datagram's second byte is an RTCP packet type (RFC 5761 §4). */
export function isRtcpPacketType(secondByte: number): boolean {
  return secondByte >= 192 && secondByte <= 223;
}
