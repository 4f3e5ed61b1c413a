/**
 * Transport-wide congestion control feedback, draft-holmer-rmcat-transport-wide-cc-extensions-01
 * (RTCP RTPFB, PT 205, FMT 15): the wire format, its parser, the packet status chunker (chunking
 * exactly as libwebrtc's encoder), and arrival times from a parsed feedback. The rest of the encoder
 * (sizing, serializing, arrival times to the wire's reference time + 250 us deltas) is in
 * twcc-size-counter.ts and twcc-encoder.ts. (The chunk constants stay private to this module: the
 * parser's loop is measurably slower with imported or exported bindings.)
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|  FMT=15 |    PT=205     |  length (32-bit words - 1)    |  0
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     SSRC of packet sender                     |  4
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                      SSRC of media source                     |  8
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |      base sequence number     |      packet status count      | 12
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     reference time (24-bit signed, x 64 ms)   | fb pkt. count | 16
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          packet chunk         |         packet chunk          | 20
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  .                               .  ... until "status count"     .
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         packet chunk          |  recv delta   |  recv delta   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  .   one recv delta per received packet: 1 byte (small, unsigned)  .
 *  .   or 2 bytes (large, signed), in units of 250 us                .
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           recv delta          |  recv delta   | padding (P=1) |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Packet chunks (16 bits each):
 *
 *   run length            |0| S |       run length (13)       |   S = symbol repeated
 *   1-bit status vector   |1|0|  14 symbols x 1 bit           |   0 not received, 1 small delta
 *   2-bit status vector   |1|1|  7 symbols x 2 bits           |
 *
 * Symbols: 0 = not received, 1 = received with a small delta, 2 = received with a large delta,
 * 3 = reserved. The draft's text for the 1-bit vector is wrong (known errata): 0 = not received,
 * 1 = received with a small delta, as every implementation does.
 *
 * Padding: libwebrtc pads the packet to 32 bits with zero bytes whose last byte is the padding count
 * and sets the RTCP P bit; the parser also accepts up to 3 trailing zero-padding bytes without P
 * (some encoders pad that way).
 */
import { readU32OrZero } from '../bytes.js';
import { ParseError } from '../errors.js';
import type { TwccFeedback } from '../feedback-types.js';
import { RTPFB_FMT_TWCC, rtpfbContentEnd } from './header.js';

export const TWCC_FMT = RTPFB_FMT_TWCC;
/** RTCP common header (4) + sender/media SSRC (8) + base seq, status count, reference time, fb count (8). */
export const TWCC_HEADER_BYTES = 20;
export const TWCC_DELTA_TICK_US = 250;
export const TWCC_REFERENCE_TICK_US = 64_000;
/** Reference time wraps every 2^24 x 64 ms (about 12.4 days). */
export const TWCC_REFERENCE_WRAP_US = TWCC_REFERENCE_TICK_US * 0x1000000;
/** Most packets one feedback can report (16-bit status count). */
export const TWCC_MAX_STATUS_COUNT = 0xffff;
/** Largest packet the 16-bit RTCP length field allows. */
export const TWCC_MAX_PACKET_BYTES = 0x10000 * 4;
/** Longest run a run-length chunk carries (13 bits). */
const MAX_RUN_LENGTH = 0x1fff;
/** Symbols in a 1-bit status vector chunk. */
const ONE_BIT_CAPACITY = 14;
/** Symbols in a 2-bit status vector chunk. */
const TWO_BIT_CAPACITY = 7;

const WHAT = 'twcc';

/** Delta-size symbol of one entry: 0 not received, 1 small delta (1 byte), 2 large delta (2 bytes). */
export function twccSymbol(delta: number | null): 0 | 1 | 2 {
  if (delta === null) return 0;
  return delta >= 0 && delta <= 0xff ? 1 : 2;
}

export function newTwccFeedback(): TwccFeedback {
  return { senderSsrc: 0, mediaSsrc: 0, baseSeq: 0, referenceTime64ms: 0, fbPktCount: 0, deltas: [] };
}

/**
 * Parses one RTCP transport-cc sub-packet starting at `offset`. `length` is how many bytes of `buf`
 * from `offset` belong to it (or to the rest of the compound packet): the packet's own size comes
 * from its length field and must fit. Pass `into` to reuse an object and its deltas array (no
 * allocation then except array growth); it is left partly overwritten if parsing throws.
 * Throws only ParseError.
 */
export function parseTwcc(buf: Uint8Array, offset: number, length: number, into?: TwccFeedback): TwccFeedback {
  const payloadEnd = rtpfbContentEnd(buf, offset, length, TWCC_FMT, WHAT, false);
  // header + at least one chunk
  if (payloadEnd - offset < TWCC_HEADER_BYTES + 2) throw new ParseError('truncated', WHAT);

  const count = ((buf[offset + 14] ?? 0) << 8) | (buf[offset + 15] ?? 0);
  if (count === 0) throw new ParseError('bad-header', WHAT);
  const fb = into ?? newTwccFeedback();
  fb.senderSsrc = readU32OrZero(buf, offset + 4);
  fb.mediaSsrc = readU32OrZero(buf, offset + 8);
  fb.baseSeq = ((buf[offset + 12] ?? 0) << 8) | (buf[offset + 13] ?? 0);
  const ref = ((buf[offset + 16] ?? 0) << 16) | ((buf[offset + 17] ?? 0) << 8) | (buf[offset + 18] ?? 0);
  fb.referenceTime64ms = ref >= 0x800000 ? ref - 0x1000000 : ref;
  fb.fbPktCount = buf[offset + 19] ?? 0;
  const deltas = fb.deltas;
  deltas.length = 0;

  // Pass 1: chunks -> symbols (the symbol 1/2 stands in for the delta until pass 2).
  let pos = offset + TWCC_HEADER_BYTES;
  let deltaBytes = 0;
  while (deltas.length < count) {
    if (pos + 2 > payloadEnd) throw new ParseError('truncated', WHAT);
    const chunk = ((buf[pos] ?? 0) << 8) | (buf[pos + 1] ?? 0);
    pos += 2;
    const remaining = count - deltas.length;
    if ((chunk & 0x8000) === 0) {
      const symbol = (chunk >> 13) & 3;
      const run = chunk & MAX_RUN_LENGTH;
      // a zero or overshooting run contradicts the status count
      if (symbol === 3 || run === 0 || run > remaining) throw new ParseError('bad-header', WHAT);
      const value = symbol === 0 ? null : symbol;
      for (let i = 0; i < run; i++) deltas.push(value);
      deltaBytes += run * symbol;
    } else if ((chunk & 0x4000) === 0) {
      const n = Math.min(ONE_BIT_CAPACITY, remaining);
      for (let i = 0; i < n; i++) {
        if (((chunk >> (ONE_BIT_CAPACITY - 1 - i)) & 1) === 1) {
          deltas.push(1);
          deltaBytes += 1;
        } else {
          deltas.push(null);
        }
      }
    } else {
      const n = Math.min(TWO_BIT_CAPACITY, remaining);
      for (let i = 0; i < n; i++) {
        const symbol = (chunk >> (2 * (TWO_BIT_CAPACITY - 1 - i))) & 3;
        if (symbol === 3) throw new ParseError('bad-header', WHAT);
        deltas.push(symbol === 0 ? null : symbol);
        deltaBytes += symbol;
      }
    }
  }
  if (pos + deltaBytes > payloadEnd) throw new ParseError('truncated', WHAT);
  // whatever is left must be 32-bit alignment padding (zero bytes), never data
  const trailing = payloadEnd - (pos + deltaBytes);
  if (trailing > 3) throw new ParseError('bad-length', WHAT);
  for (let i = payloadEnd - trailing; i < payloadEnd; i++) {
    if (buf[i] !== 0) throw new ParseError('bad-length', WHAT);
  }

  // Pass 2: read the deltas.
  for (let i = 0; i < count; i++) {
    const symbol = deltas[i];
    if (symbol === 1) {
      deltas[i] = buf[pos] ?? 0;
      pos += 1;
    } else if (symbol === 2) {
      const v = ((buf[pos] ?? 0) << 8) | (buf[pos + 1] ?? 0);
      deltas[i] = v >= 0x8000 ? v - 0x10000 : v;
      pos += 2;
    }
  }
  return fb;
}

/**
 * libwebrtc's "last chunk" state: the symbols not yet committed to an emitted chunk. Adding a symbol
 * that the pending chunk cannot take emits a chunk (greedy), exactly like
 * modules/rtp_rtcp/source/rtcp_packet/transport_feedback.cc (LastChunk::CanAdd/Add/Emit/EncodeLast).
 */
export class TwccChunker {
  private size = 0;
  private allSame = true;
  private hasLarge = false;
  private readonly symbols = new Uint8Array(ONE_BIT_CAPACITY);

  reset(): void {
    this.size = 0;
    this.allSame = true;
    this.hasLarge = false;
  }

  isEmpty(): boolean {
    return this.size === 0;
  }

  copyFrom(other: TwccChunker): void {
    this.size = other.size;
    this.allSame = other.allSame;
    this.hasLarge = other.hasLarge;
    this.symbols.set(other.symbols);
  }

  canAdd(symbol: number): boolean {
    if (this.size < TWO_BIT_CAPACITY) return true;
    if (this.size < ONE_BIT_CAPACITY && !this.hasLarge && symbol !== 2) return true;
    return this.size < MAX_RUN_LENGTH && this.allSame && this.symbols[0] === symbol;
  }

  add(symbol: number): void {
    if (this.size < ONE_BIT_CAPACITY) this.symbols[this.size] = symbol;
    this.size++;
    this.allSame = this.allSame && symbol === this.symbols[0];
    this.hasLarge = this.hasLarge || symbol === 2;
  }

  /** Emits the chunk that must be closed because canAdd() refused a symbol; keeps any remainder. */
  emit(): number {
    if (this.allSame) {
      const chunk = this.runLength();
      this.reset();
      return chunk;
    }
    if (this.size === ONE_BIT_CAPACITY) {
      const chunk = this.oneBit();
      this.reset();
      return chunk;
    }
    const chunk = this.twoBit(TWO_BIT_CAPACITY);
    const rest = this.size - TWO_BIT_CAPACITY;
    this.reset();
    for (let i = 0; i < rest; i++) {
      const s = this.symbols[TWO_BIT_CAPACITY + i] ?? 0;
      this.symbols[i] = s;
      this.size++;
      this.allSame = this.allSame && s === this.symbols[0];
      this.hasLarge = this.hasLarge || s === 2;
    }
    return chunk;
  }

  /** The final chunk (not emptied): run length if uniform, 2-bit vector if <= 7, else 1-bit vector. */
  encodeLast(): number {
    if (this.allSame) return this.runLength();
    if (this.size <= TWO_BIT_CAPACITY) return this.twoBit(this.size);
    return this.oneBit();
  }

  private runLength(): number {
    return ((this.symbols[0] ?? 0) << 13) | this.size;
  }

  private oneBit(): number {
    let chunk = 0x8000;
    for (let i = 0; i < this.size; i++) chunk |= (this.symbols[i] ?? 0) << (ONE_BIT_CAPACITY - 1 - i);
    return chunk;
  }

  private twoBit(n: number): number {
    let chunk = 0xc000;
    for (let i = 0; i < n; i++) chunk |= (this.symbols[i] ?? 0) << (2 * (TWO_BIT_CAPACITY - 1 - i));
    return chunk;
  }
}

/**
 * Arrival times (us) the feedback states, in its own time base: referenceTime64ms x 64 ms plus the
 * running sum of deltas x 250 us (null for entries not received). The reference time is the wire's
 * wrapped 24-bit value, so times are only meaningful relative to each other and to other packets of
 * the same stream (unwrap across 2^24 x 64 ms if needed).
 */
export function arrivalsUsFromTwcc(fb: TwccFeedback): Array<number | null> {
  let t = fb.referenceTime64ms * TWCC_REFERENCE_TICK_US;
  const out: Array<number | null> = [];
  for (const d of fb.deltas) {
    if (d === null) {
      out.push(null);
    } else {
      t += d * TWCC_DELTA_TICK_US;
      out.push(t);
    }
  }
  return out;
}
