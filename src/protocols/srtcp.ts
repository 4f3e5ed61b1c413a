/**
 * SRTCP detection (RFC 3711 §3.4): tells an encrypted/authenticated RTCP datagram from a plain
 * RTCP compound without keys.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|   RC    |   PT          |             length            |  plaintext
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                   SSRC of sender                              |  plaintext
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  rest of the first sub-packet and every further sub-packet    |  encrypted (E = 1)
 *  |  (a compound of any length; its headers are unreadable)       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |E|                     SRTCP index (31 bits)                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  :      [MKI, optional, not used by DTLS-SRTP]                   :
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  :      authentication tag (10 bytes HMAC-SHA1-80; 4 for _32)    :
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Heuristic (documented, no keys needed). Let L be the datagram length and T = 4 + tagLength:
 *  1. Plain RTCP: the sub-packets' declared lengths chain exactly over L bytes, every sub-packet
 *     header valid (V = 2, PT 192..223, padding sane). -> 'rtcp'.
 *  2. Otherwise SRTCP needs: the first sub-packet header valid (it is plaintext) and fitting in
 *     L - T; (L - T) a multiple of 4 (AES-CM/f8 keep the RTCP length, which is word-aligned);
 *     and the E bit set in the word at L - T. -> 'srtcp' (encrypted). Only the first sub-packet's
 *     first 8 bytes may be read; the rest of the compound is ciphertext.
 *  3. With E = 0 (authentication-only SRTCP, rare), the plaintext chain fits L - T exactly.
 *     -> 'srtcp' with encrypted = false (still not rewritable: the tag covers the packet).
 *  4. Anything else -> 'malformed'.
 * Why 1 first: an encrypted compound's ciphertext would have to decode as valid headers that end
 * exactly at L (and a 14-byte trailer is never a whole RTCP sub-packet: lengths are words).
 * The residual ambiguity is a 4-byte-tag SRTCP whose index word happens to read as a valid
 * 8-byte RTCP header (index low 16 bits = 1 and bits 16..23 in 192..223): negligible.
 *
 * SRTP vs RTP: the SRTP header (and extensions) is plaintext and identical to RTP; the auth tag
 * is appended to an opaque payload. A single packet cannot be classified from its header alone;
 * the caller decides per 5-tuple (e.g. SDP, DTLS seen on the 5-tuple, or SRTCP detected on it).
 */
import { isValidCompound } from './rtcp/index.js';

export const SRTCP_TAG_LENGTH_80 = 10;
export const SRTCP_TAG_LENGTH_32 = 4;
export const SRTCP_INDEX_LENGTH = 4;

export type RtcpSecurityClass = 'rtcp' | 'srtcp' | 'malformed';

export interface SrtcpView {
  kind: RtcpSecurityClass;
  /** E flag (srtcp only). */
  encrypted: boolean;
  /** 31-bit SRTCP index (srtcp only), -1 otherwise. */
  index: number;
  /** Offset of the E|index word (srtcp only), -1 otherwise. */
  indexOffset: number;
  /** Offset of the auth tag (srtcp only), -1 otherwise. */
  tagOffset: number;
  /** Bytes of the (possibly encrypted) RTCP compound before the trailer (plain: the whole datagram). */
  rtcpLength: number;
  /** First sub-packet's plaintext header: packet type, count/FMT and sender SSRC (-1 if unknown). */
  firstPacketType: number;
  firstCount: number;
  senderSsrc: number;
}

export function newSrtcpView(): SrtcpView {
  return {
    kind: 'malformed',
    encrypted: false,
    index: -1,
    indexOffset: -1,
    tagOffset: -1,
    rtcpLength: 0,
    firstPacketType: -1,
    firstCount: 0,
    senderSsrc: -1,
  };
}

/** The first sub-packet's plaintext header: its declared length must fit before `end`. */
function firstHeaderFits(buf: Uint8Array, offset: number, end: number): boolean {
  const byteLength = (((buf[offset + 2]! << 8) | buf[offset + 3]!) + 1) * 4;
  return byteLength >= 8 && offset + byteLength <= end;
}

/**
 * Classifies the RTCP-range datagram buf[offset, end) as plain RTCP, SRTCP or malformed (never
 * throws on bad input). `tagLength`: 10 (AES_CM_128_HMAC_SHA1_80, the default) or 4 (_32).
 */
export function classifyRtcpSecurity(
  buf: Uint8Array,
  offset: number,
  end: number,
  out: SrtcpView,
  tagLength: number = SRTCP_TAG_LENGTH_80,
): RtcpSecurityClass {
  out.kind = 'malformed';
  out.encrypted = false;
  out.index = -1;
  out.indexOffset = -1;
  out.tagOffset = -1;
  out.rtcpLength = 0;
  out.firstPacketType = -1;
  out.firstCount = 0;
  out.senderSsrc = -1;
  if (offset < 0 || end > buf.length || offset + 8 > end) return out.kind;
  const b0 = buf[offset]!;
  const pt = buf[offset + 1]!;
  if (b0 >> 6 !== 2 || pt < 192 || pt > 223) return out.kind;
  out.firstPacketType = pt;
  out.firstCount = b0 & 0x1f;
  out.senderSsrc = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  if (isValidCompound(buf, offset, end, true)) {
    out.kind = 'rtcp';
    out.rtcpLength = end - offset;
    return out.kind;
  }
  const trailer = SRTCP_INDEX_LENGTH + tagLength;
  const rtcpEnd = end - trailer;
  const rtcpLength = rtcpEnd - offset;
  if (rtcpLength < 8 || rtcpLength % 4 !== 0) return out.kind;
  if (!firstHeaderFits(buf, offset, rtcpEnd)) return out.kind;
  const e = (buf[rtcpEnd]! & 0x80) !== 0;
  if (!e && !isValidCompound(buf, offset, rtcpEnd, true)) return out.kind;
  out.kind = 'srtcp';
  out.encrypted = e;
  out.index =
    (((buf[rtcpEnd]! & 0x7f) << 24) | (buf[rtcpEnd + 1]! << 16) | (buf[rtcpEnd + 2]! << 8) | buf[rtcpEnd + 3]!) >>> 0;
  out.indexOffset = rtcpEnd;
  out.tagOffset = rtcpEnd + SRTCP_INDEX_LENGTH;
  out.rtcpLength = rtcpLength;
  return out.kind;
}
