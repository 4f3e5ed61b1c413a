/**
 * IPv6 header (RFC 8200) and the extension headers skipped to reach the upper-layer protocol.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version| Traffic Class |           Flow Label                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         Payload Length        |  Next Header  |   Hop Limit   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 Source Address (128 bits, 4 words)            |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |              Destination Address (128 bits, 4 words)         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Extension headers walked (hop-by-hop 0, routing 43, destination options 60, mobility 135):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Next Header  |  Hdr Ext Len  |  (Hdr Ext Len + 1) * 8 bytes  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Fragment header (44), 8 bytes:
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         Identification                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Authentication header (51): length = (Payload Len + 2) * 4 bytes, same first two fields.
 *
 * Extension headers must lie inside the buffer and inside Payload Length. A non-first fragment
 * (offset != 0) stops the walk: `protocol` is the fragment header's next header but no L4 header
 * follows. Payload Length 0 with a hop-by-hop header (jumbogram) is 'unsupported'.
 */
import { readAddressPair, type AddressPair } from './address-pair.js';
import { readU32 } from './bytes.js';
import { ParseError } from './errors.js';

// the text forms live with the address layout; re-exported for the importers of ipv6.js
export { formatIpv6, parseIpv6Address } from './address-pair.js';

export const IPV6_HEADER_LENGTH = 40;
export const IPV6_EXT_HOP_BY_HOP = 0;
export const IPV6_EXT_ROUTING = 43;
export const IPV6_EXT_FRAGMENT = 44;
export const IPV6_EXT_AH = 51;
export const IPV6_EXT_DEST_OPTS = 60;
export const IPV6_EXT_MOBILITY = 135;
export const IPV6_NO_NEXT_HEADER = 59;

/** The fixed header's fields; the addresses in the layout of address-pair.ts. */
export interface Ipv6View extends AddressPair {
  offset: number;
  trafficClass: number;
  flowLabel: number;
  /** Payload Length field (bytes after the fixed 40-byte header). */
  payloadLength: number;
  /** 40 + payloadLength. */
  totalLength: number;
  /** Next Header of the fixed header. */
  nextHeader: number;
  hopLimit: number;
  /** Upper-layer protocol after the extension headers. */
  protocol: number;
  /** Offset of the upper-layer header (after extension headers). */
  l4Offset: number;
  /** Upper-layer length according to Payload Length (totalLength minus all headers). */
  l4Length: number;
  /** Bytes of extension headers skipped. */
  extLength: number;
  isFragment: boolean;
  /** Fragment offset in bytes; 0 when not a fragment. */
  fragmentOffset: number;
  moreFragments: boolean;
  /** Fragment identification (32 bits), 0 when not a fragment. */
  fragmentId: number;
  /** True when the buffer holds fewer bytes than totalLength. */
  truncated: boolean;
}

export function newIpv6View(): Ipv6View {
  return {
    offset: 0,
    trafficClass: 0,
    flowLabel: 0,
    payloadLength: 0,
    totalLength: 0,
    nextHeader: 0,
    hopLimit: 0,
    src0: 0,
    src1: 0,
    src2: 0,
    src3: 0,
    dst0: 0,
    dst1: 0,
    dst2: 0,
    dst3: 0,
    protocol: 0,
    l4Offset: 0,
    l4Length: 0,
    extLength: 0,
    isFragment: false,
    fragmentOffset: 0,
    moreFragments: false,
    fragmentId: 0,
    truncated: false,
  };
}

export function parseIpv6(buf: Uint8Array, offset: number, out: Ipv6View): void {
  const len = buf.length;
  if (offset < 0 || offset + IPV6_HEADER_LENGTH > len) throw new ParseError('truncated', 'ipv6');
  const w0 = readU32(buf, offset);
  if (w0 >>> 28 !== 6) throw new ParseError('bad-version', 'ipv6');
  const payloadLength = (buf[offset + 4]! << 8) | buf[offset + 5]!;
  const nextHeader = buf[offset + 6]!;
  if (payloadLength === 0 && nextHeader === IPV6_EXT_HOP_BY_HOP) throw new ParseError('unsupported', 'ipv6');
  const end = offset + IPV6_HEADER_LENGTH + payloadLength; // end per header (may exceed buffer)
  out.offset = offset;
  out.trafficClass = (w0 >>> 20) & 0xff;
  out.flowLabel = w0 & 0xfffff;
  out.payloadLength = payloadLength;
  out.totalLength = IPV6_HEADER_LENGTH + payloadLength;
  out.nextHeader = nextHeader;
  out.hopLimit = buf[offset + 7]!;
  readAddressPair(buf, offset + 8, out);
  out.isFragment = false;
  out.fragmentOffset = 0;
  out.moreFragments = false;
  out.fragmentId = 0;
  out.truncated = end > len;

  let nh = nextHeader;
  let off = offset + IPV6_HEADER_LENGTH;
  // each extension header advances at least 8 bytes, so the loop is bounded by the buffer
  for (;;) {
    if (nh === IPV6_EXT_HOP_BY_HOP || nh === IPV6_EXT_ROUTING || nh === IPV6_EXT_DEST_OPTS || nh === IPV6_EXT_MOBILITY) {
      if (off + 8 > end) throw new ParseError('bad-length', 'ipv6');
      if (off + 2 > len) throw new ParseError('truncated', 'ipv6');
      const hl = (buf[off + 1]! + 1) * 8;
      if (off + hl > end) throw new ParseError('bad-length', 'ipv6');
      if (off + hl > len) throw new ParseError('truncated', 'ipv6');
      nh = buf[off]!;
      off += hl;
    } else if (nh === IPV6_EXT_AH) {
      if (off + 8 > end) throw new ParseError('bad-length', 'ipv6');
      if (off + 2 > len) throw new ParseError('truncated', 'ipv6');
      const hl = (buf[off + 1]! + 2) * 4;
      if (off + hl > end) throw new ParseError('bad-length', 'ipv6');
      if (off + hl > len) throw new ParseError('truncated', 'ipv6');
      nh = buf[off]!;
      off += hl;
    } else if (nh === IPV6_EXT_FRAGMENT) {
      if (out.isFragment) throw new ParseError('bad-header', 'ipv6'); // two fragment headers
      if (off + 8 > end) throw new ParseError('bad-length', 'ipv6');
      if (off + 8 > len) throw new ParseError('truncated', 'ipv6');
      const fo = (buf[off + 2]! << 8) | buf[off + 3]!;
      out.isFragment = true;
      out.fragmentOffset = fo & 0xfff8;
      out.moreFragments = (fo & 1) !== 0;
      out.fragmentId = readU32(buf, off + 4);
      nh = buf[off]!;
      off += 8;
      if (out.fragmentOffset !== 0) break; // the rest is opaque fragment data
    } else {
      break;
    }
  }
  out.protocol = nh;
  out.l4Offset = off;
  out.l4Length = end - off;
  out.extLength = off - offset - IPV6_HEADER_LENGTH;
}
