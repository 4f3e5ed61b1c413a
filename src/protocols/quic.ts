/**
 * QUIC packet header classes (RFC 8999 invariants, RFC 9000 §17, RFC 9369 for QUIC v2). Only
 * what an on-path box can read: header form, version, connection IDs, the spin bit. Everything
 * after is protected (header protection masks the low bits of byte 0 and the packet number).
 *
 * Long header (RFC 9000 §17.2):
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |1|1|T T|X X X X|                 Version (32) ...              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  ... Version  | DCID Len (8)  |  Destination Connection ID (0..160 bits) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | SCID Len (8)  |  Source Connection ID (0..160 bits) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  Initial:   Token Length (varint) | Token | Length (varint) | PN (1..4) | payload
 *  0-RTT, Handshake: Length (varint) | PN (1..4) | payload
 *  Retry:     Retry Token | Retry Integrity Tag (16)
 *  Version 0 (Version Negotiation): DCID/SCID, then Supported Versions (32 bits each); the
 *  second bit and the type bits are then arbitrary.
 *
 *  Type bits T T: v1 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry;
 *                 v2 (RFC 9369 §3.2) 1 Initial, 2 0-RTT, 3 Handshake, 0 Retry.
 *
 * Short header (1-RTT, RFC 9000 §17.3.1):
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |0|1|S|R R|K|P P|  Destination Connection ID (length not on the wire) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  S = spin bit (not header-protected); R, K, P are protected. The DCID length is known only to
 *  the endpoints (and to an observer who saw the handshake's SCID), so the caller supplies it.
 *
 * Classification is conservative: looksLikeQuicLong() needs a known version and sane CID lengths;
 * a short header says nothing on its own, so looksLikeQuicShort() is for a 5-tuple the caller
 * already knows to be QUIC.
 */
import { ParseError } from './errors.js';

export const QUIC_VERSION_NEGOTIATION = 0x00000000;
export const QUIC_VERSION_1 = 0x00000001;
export const QUIC_VERSION_2 = 0x6b3343cf;
export const QUIC_VERSION_DRAFT_29 = 0xff00001d;
export const QUIC_MAX_CID_LENGTH = 20;
/** Smallest UDP payload carrying a client Initial (RFC 9000 §14.1); not enforced (captures may be truncated). */
export const QUIC_MIN_INITIAL_DATAGRAM = 1200;

export type QuicLongType = 'initial' | '0rtt' | 'handshake' | 'retry' | 'version-negotiation';
export type QuicForm = 'long' | 'short';

export function isKnownQuicVersion(v: number): boolean {
  return v === QUIC_VERSION_1 || v === QUIC_VERSION_2 || v === QUIC_VERSION_DRAFT_29;
}

export interface QuicHeaderView {
  offset: number;
  form: QuicForm;
  fixedBit: boolean;
  /** Long header only. */
  longType: QuicLongType;
  version: number;
  dcidLength: number;
  dcidOffset: number;
  /** Long header only (-1 / 0 for short headers). */
  scidLength: number;
  scidOffset: number;
  /** Short header only: the latency spin bit. */
  spinBit: boolean;
  /** Initial only: token offset/length (-1 / 0 otherwise). Retry: the retry token. */
  tokenOffset: number;
  tokenLength: number;
  /** Initial/0-RTT/Handshake: value of the Length field (packet number + payload); -1 otherwise. */
  payloadLength: number;
  /** Offset of the (protected) packet number (Initial/0-RTT/Handshake; short: after the DCID), or the supported versions list (VN). */
  pnOffset: number;
  /** Offset just after this packet (long headers with a Length field coalesce; otherwise the datagram end). */
  packetEnd: number;
}

export function newQuicHeaderView(): QuicHeaderView {
  return {
    offset: 0,
    form: 'long',
    fixedBit: false,
    longType: 'initial',
    version: 0,
    dcidLength: 0,
    dcidOffset: 0,
    scidLength: -1,
    scidOffset: -1,
    spinBit: false,
    tokenOffset: -1,
    tokenLength: 0,
    payloadLength: -1,
    pnOffset: -1,
    packetEnd: 0,
  };
}

const V1_TYPES: readonly QuicLongType[] = ['initial', '0rtt', 'handshake', 'retry'];
const V2_TYPES: readonly QuicLongType[] = ['retry', 'initial', '0rtt', 'handshake'];

/** Reads a QUIC varint (RFC 9000 §16) at `o` (must fit before `end`); writes its byte size to varintSize. */
let varintSize = 0;
function readVarint(buf: Uint8Array, o: number, end: number): number {
  if (o >= end) throw new ParseError('truncated', 'quic');
  const b = buf[o]!;
  const size = 1 << (b >> 6);
  if (o + size > end) throw new ParseError('truncated', 'quic');
  let v = b & 0x3f;
  for (let i = 1; i < size; i++) v = v * 256 + buf[o + i]!;
  varintSize = size;
  return v;
}

/**
 * Parses a long header at `offset` (datagram ends at `end`). Unknown versions are parsed as far
 * as the invariants go (form, version, CIDs of up to 255 bytes) and then 'unsupported' is thrown
 * so that the caller never misreads type-specific fields.
 */
export function parseQuicLongHeader(buf: Uint8Array, offset: number, end: number, out: QuicHeaderView): void {
  if (end > buf.length || offset < 0 || offset + 7 > end) throw new ParseError('truncated', 'quic');
  const b0 = buf[offset]!;
  if ((b0 & 0x80) === 0) throw new ParseError('bad-header', 'quic');
  const version = ((buf[offset + 1]! << 24) | (buf[offset + 2]! << 16) | (buf[offset + 3]! << 8) | buf[offset + 4]!) >>> 0;
  let o = offset + 5;
  const dcidLen = buf[o]!;
  o += 1;
  const dcidOffset = o;
  o += dcidLen;
  if (o + 1 > end) throw new ParseError('truncated', 'quic');
  const scidLen = buf[o]!;
  o += 1;
  const scidOffset = o;
  o += scidLen;
  if (o > end) throw new ParseError('truncated', 'quic');
  out.offset = offset;
  out.form = 'long';
  out.fixedBit = (b0 & 0x40) !== 0;
  out.version = version;
  out.dcidLength = dcidLen;
  out.dcidOffset = dcidOffset;
  out.scidLength = scidLen;
  out.scidOffset = scidOffset;
  out.spinBit = false;
  out.tokenOffset = -1;
  out.tokenLength = 0;
  out.payloadLength = -1;
  out.pnOffset = -1;
  out.packetEnd = end;
  if (version === QUIC_VERSION_NEGOTIATION) {
    out.longType = 'version-negotiation';
    if ((end - o) % 4 !== 0 || end === o) throw new ParseError('bad-length', 'quic');
    out.pnOffset = o;
    return;
  }
  if (!isKnownQuicVersion(version)) throw new ParseError('unsupported', 'quic');
  if (dcidLen > QUIC_MAX_CID_LENGTH || scidLen > QUIC_MAX_CID_LENGTH) throw new ParseError('bad-length', 'quic');
  // a clear fixed bit is legal after grease_quic_bit (RFC 9287): reported in out.fixedBit, not an error
  const tbits = (b0 >> 4) & 0x03;
  const type = (version === QUIC_VERSION_2 ? V2_TYPES : V1_TYPES)[tbits]!;
  out.longType = type;
  if (type === 'retry') {
    if (end - o < 16) throw new ParseError('truncated', 'quic');
    out.tokenOffset = o;
    out.tokenLength = end - o - 16;
    return;
  }
  if (type === 'initial') {
    const tokenLen = readVarint(buf, o, end);
    o += varintSize;
    if (o + tokenLen > end) throw new ParseError('truncated', 'quic');
    out.tokenOffset = o;
    out.tokenLength = tokenLen;
    o += tokenLen;
  }
  const len = readVarint(buf, o, end);
  o += varintSize;
  if (len < 1) throw new ParseError('bad-length', 'quic');
  out.payloadLength = len;
  out.pnOffset = o;
  // Length may exceed a snap-length-truncated capture; packetEnd is then clamped to `end`.
  out.packetEnd = Math.min(end, o + len);
}

/** Parses a short header whose DCID length the caller knows (from the handshake it observed). */
export function parseQuicShortHeader(
  buf: Uint8Array,
  offset: number,
  end: number,
  dcidLength: number,
  out: QuicHeaderView,
): void {
  if (dcidLength < 0 || dcidLength > QUIC_MAX_CID_LENGTH) throw new ParseError('bad-length', 'quic');
  if (end > buf.length || offset < 0 || offset + 1 + dcidLength + 1 > end) throw new ParseError('truncated', 'quic');
  const b0 = buf[offset]!;
  if (b0 & 0x80) throw new ParseError('bad-header', 'quic');
  out.offset = offset;
  out.form = 'short';
  out.fixedBit = (b0 & 0x40) !== 0;
  out.longType = 'initial';
  out.version = 0;
  out.dcidLength = dcidLength;
  out.dcidOffset = offset + 1;
  out.scidLength = -1;
  out.scidOffset = -1;
  out.spinBit = (b0 & 0x20) !== 0;
  out.tokenOffset = -1;
  out.tokenLength = 0;
  out.payloadLength = -1;
  out.pnOffset = offset + 1 + dcidLength;
  out.packetEnd = end;
}

const scratch = newQuicHeaderView();

/**
 * Conservative: true only for a long header of a known version (or a version negotiation packet)
 * with CID lengths <= 20 that parses cleanly. Never throws. The fixed bit is NOT required: peers
 * that negotiated grease_quic_bit (RFC 9287) clear it at random — measured on the testbed:
 * ngtcp2's server sent its only long-header datagram with first byte 0x8f, and requiring the bit
 * missed the connection in 5 of 10 trials. The known version carries the weight.
 */
export function looksLikeQuicLong(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  // cheap pre-checks first, so that non-QUIC traffic never pays for an exception
  if (offset < 0 || end > buf.length || offset + 7 > end) return false;
  const b0 = buf[offset]!;
  if ((b0 & 0x80) === 0) return false;
  const version = ((buf[offset + 1]! << 24) | (buf[offset + 2]! << 16) | (buf[offset + 3]! << 8) | buf[offset + 4]!) >>> 0;
  if (version !== QUIC_VERSION_NEGOTIATION && !isKnownQuicVersion(version)) return false;
  const dcidLen = buf[offset + 5]!;
  if (dcidLen > QUIC_MAX_CID_LENGTH || offset + 7 + dcidLen > end) return false;
  if (buf[offset + 6 + dcidLen]! > QUIC_MAX_CID_LENGTH) return false;
  try {
    parseQuicLongHeader(buf, offset, end, scratch);
    return scratch.dcidLength <= QUIC_MAX_CID_LENGTH && scratch.scidLength <= QUIC_MAX_CID_LENGTH;
  } catch (e) {
    if (e instanceof ParseError) return false;
    throw e;
  }
}

/**
 * For a 5-tuple already known to be QUIC: true when the datagram is a plausible short-header
 * packet (form 0, fixed bit 1, room for DCID + 1-byte PN + 16-byte AEAD tag). Never throws.
 */
export function looksLikeQuicShort(buf: Uint8Array, dcidLength: number, offset = 0, end = buf.length): boolean {
  if (offset < 0 || end > buf.length || offset >= end || dcidLength < 0 || dcidLength > QUIC_MAX_CID_LENGTH) return false;
  const b0 = buf[offset]!;
  return (b0 & 0xc0) === 0x40 && end - offset >= 1 + dcidLength + 1 + 16;
}
