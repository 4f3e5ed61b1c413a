/**
 * RTP fixed header (RFC 3550 §5.1) and header extensions (RFC 8285: one-byte and two-byte forms).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                           timestamp                           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           synchronization source (SSRC) identifier            |
 *  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *  |            contributing source (CSRC) identifiers             |
 *  |                             ....  (CC x 4 bytes)              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  profile (0xBEDE / 0x100X)    |   length (32-bit words)       |   only when X = 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 extension elements (length x 4 bytes)         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  payload ...                  | padding ... | padding count   |   last byte only when P = 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * One-byte element (profile 0xBEDE):        Two-byte element (profile 0x100X, X = appbits):
 *   +-+-+-+-+-+-+-+-+-------------             +---------------+---------------+---------
 *   |  ID   | L=len-1| data (L+1 bytes)        |      ID       |  L = len      | data (L bytes)
 *   +-+-+-+-+-+-+-+-+-------------             +---------------+---------------+---------
 *   ID 0: one padding byte; ID 15: stop.       ID 0: one padding byte.
 *
 * SRTP (RFC 3711) leaves this header, CSRCs and extensions in the clear (only the payload is
 * encrypted and an auth tag appended), so an SRTP packet cannot be told apart from RTP by its
 * header: everything here works on both.
 *
 * Two parse entry points: parseRtpHeader() reads up to the payload and never touches the packet
 * end (snap-length-truncated captures are fine); parseRtp() also resolves padding.
 */
import { readU16, readU32 } from './bytes.js';
import { ParseError } from './errors.js';

export const RTP_VERSION = 2;
export const RTP_FIXED_HEADER_LENGTH = 12;
export const EXT_PROFILE_ONE_BYTE = 0xbede;
/** Two-byte profiles are 0x1000..0x100F (low 4 bits: appbits). */
export const EXT_PROFILE_TWO_BYTE_BASE = 0x1000;

/** Header extension form: none, RFC 8285 one-byte, RFC 8285 two-byte, other profile (opaque). */
export type RtpExtensionForm = 'none' | 'one-byte' | 'two-byte' | 'other';

export interface RtpView {
  /** Offset of the RTP header in the buffer. */
  offset: number;
  /** End of the datagram (exclusive) as given to the parser. */
  end: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Header extension profile (16 bits), -1 when X = 0. */
  extProfile: number;
  extForm: RtpExtensionForm;
  /** Offset of the first extension element (after the 4-byte extension header), -1 when none. */
  extOffset: number;
  /** Bytes of extension elements (length field x 4). */
  extLength: number;
  payloadOffset: number;
  /** Payload bytes (excluding padding; parseRtpHeader: up to `end`). */
  payloadLength: number;
  /** Padding bytes including the count byte (0 when P = 0 or after parseRtpHeader). */
  paddingLength: number;
}

export function newRtpView(): RtpView {
  return {
    offset: 0,
    end: 0,
    padding: false,
    extension: false,
    csrcCount: 0,
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    extProfile: -1,
    extForm: 'none',
    extOffset: -1,
    extLength: 0,
    payloadOffset: 0,
    payloadLength: 0,
    paddingLength: 0,
  };
}

/**
 * Parses the fixed header, CSRC list and extension block of the RTP packet in buf[offset, end).
 * Does not look at the last byte (padding count): safe on truncated captures.
 */
export function parseRtpHeader(buf: Uint8Array, offset: number, end: number, out: RtpView): void {
  if (end > buf.length || offset < 0 || offset + RTP_FIXED_HEADER_LENGTH > end) throw new ParseError('truncated', 'rtp');
  const b0 = buf[offset]!;
  if (b0 >> 6 !== RTP_VERSION) throw new ParseError('bad-version', 'rtp');
  const b1 = buf[offset + 1]!;
  const cc = b0 & 0x0f;
  let o = offset + RTP_FIXED_HEADER_LENGTH + cc * 4;
  if (o > end) throw new ParseError('truncated', 'rtp');
  out.offset = offset;
  out.end = end;
  out.padding = (b0 & 0x20) !== 0;
  out.extension = (b0 & 0x10) !== 0;
  out.csrcCount = cc;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequenceNumber = readU16(buf, offset + 2);
  out.timestamp = readU32(buf, offset + 4);
  out.ssrc = readU32(buf, offset + 8);
  out.extProfile = -1;
  out.extForm = 'none';
  out.extOffset = -1;
  out.extLength = 0;
  out.paddingLength = 0;
  if (out.extension) {
    if (o + 4 > end) throw new ParseError('truncated', 'rtp');
    const profile = readU16(buf, o);
    const len = readU16(buf, o + 2) * 4;
    if (o + 4 + len > end) throw new ParseError('truncated', 'rtp');
    out.extProfile = profile;
    out.extForm =
      profile === EXT_PROFILE_ONE_BYTE ? 'one-byte' : (profile & 0xfff0) === EXT_PROFILE_TWO_BYTE_BASE ? 'two-byte' : 'other';
    out.extOffset = o + 4;
    out.extLength = len;
    o += 4 + len;
  }
  out.payloadOffset = o;
  out.payloadLength = end - o;
}

/** parseRtpHeader() plus padding: the last byte counts padding bytes (itself included) when P = 1. */
export function parseRtp(buf: Uint8Array, offset: number, end: number, out: RtpView): void {
  parseRtpHeader(buf, offset, end, out);
  if (out.padding) {
    if (out.payloadLength < 1) throw new ParseError('bad-length', 'rtp');
    const pad = buf[end - 1]!;
    if (pad === 0 || pad > out.payloadLength) throw new ParseError('bad-length', 'rtp');
    out.paddingLength = pad;
    out.payloadLength -= pad;
  }
}

/** CSRC number `i` (0-based) of a parsed packet. */
export function readCsrc(buf: Uint8Array, view: RtpView, i: number): number {
  if (i < 0 || i >= view.csrcCount) throw new ParseError('bad-header', 'rtp-csrc');
  return readU32(buf, view.offset + RTP_FIXED_HEADER_LENGTH + i * 4);
}

/** One header extension element: data at buf[offset, offset + length). */
export interface RtpExtensionElement {
  id: number;
  offset: number;
  length: number;
}

export function newRtpExtensionElement(): RtpExtensionElement {
  return { id: 0, offset: -1, length: 0 };
}

/**
 * Index-based cursor over the RFC 8285 elements of a parsed packet (no allocation per packet:
 * keep one cursor and reset() it). next() returns false at the end; a malformed element throws
 * ParseError('bad-length'). Packets with an 'other' profile yield no elements.
 */
export class RtpExtensionCursor implements RtpExtensionElement {
  id = 0;
  offset = -1;
  length = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  private twoByte = false;

  reset(buf: Uint8Array, view: RtpView): this {
    this.buf = buf;
    this.id = 0;
    this.offset = -1;
    this.length = 0;
    if (view.extForm === 'one-byte' || view.extForm === 'two-byte') {
      this.pos = view.extOffset;
      this.end = view.extOffset + view.extLength;
      this.twoByte = view.extForm === 'two-byte';
    } else {
      this.pos = 0;
      this.end = 0;
    }
    return this;
  }

  next(): boolean {
    const buf = this.buf;
    while (this.pos < this.end) {
      const b = buf[this.pos]!;
      if (b === 0) {
        this.pos++; // padding byte (both forms)
        continue;
      }
      if (!this.twoByte) {
        const id = b >> 4;
        if (id === 15) {
          this.pos = this.end; // reserved: stop processing
          return false;
        }
        const len = (b & 0x0f) + 1;
        const data = this.pos + 1;
        if (data + len > this.end) throw new ParseError('bad-length', 'rtp-extension');
        this.id = id;
        this.offset = data;
        this.length = len;
        this.pos = data + len;
        return true;
      }
      if (this.pos + 2 > this.end) throw new ParseError('bad-length', 'rtp-extension');
      const len = buf[this.pos + 1]!;
      const data = this.pos + 2;
      if (data + len > this.end) throw new ParseError('bad-length', 'rtp-extension');
      this.id = b;
      this.offset = data;
      this.length = len;
      this.pos = data + len;
      return true;
    }
    return false;
  }
}

const scratchCursor = new RtpExtensionCursor();

/**
 * Finds element `id` of a parsed packet. Returns true and fills `out` (offset/length of the data)
 * when present, false otherwise. No allocation.
 */
export function findExtension(buf: Uint8Array, view: RtpView, id: number, out: RtpExtensionElement): boolean {
  const c = scratchCursor.reset(buf, view);
  while (c.next()) {
    if (c.id === id) {
      out.id = id;
      out.offset = c.offset;
      out.length = c.length;
      return true;
    }
  }
  return false;
}

/** Calls `fn(id, offset, length)` for each element, in wire order. */
export function forEachExtension(
  buf: Uint8Array,
  view: RtpView,
  fn: (id: number, offset: number, length: number) => void,
): void {
  const c = scratchCursor.reset(buf, view);
  while (c.next()) fn(c.id, c.offset, c.length);
}

const scratchElement = newRtpExtensionElement();

/**
 * The transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01: a
 * 16-bit big-endian element) carried under `extId`, or -1 when absent or not 2 bytes long.
 */
export function readTransportWideSeq(buf: Uint8Array, view: RtpView, extId: number): number {
  if (!findExtension(buf, view, extId, scratchElement) || scratchElement.length !== 2) return -1;
  return readU16(buf, scratchElement.offset);
}
