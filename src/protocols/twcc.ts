/**
 * Transport-wide congestion control feedback, draft-holmer-rmcat-transport-wide-cc-extensions-01
 * (RTCP RTPFB, PT 205, FMT 15): parse, serialize (chunking exactly as libwebrtc's encoder), and
 * conversions between absolute arrival times and the wire's reference time + 250 us deltas.
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
import { ParseError } from './errors.js';
import { outputBuffer } from './out-buffer.js';
import type { TwccFeedback } from './feedback-types.js';

export const RTCP_PT_RTPFB = 205;
export const TWCC_FMT = 15;
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
const MAX_RUN_LENGTH = 0x1fff;
const ONE_BIT_CAPACITY = 14;
const TWO_BIT_CAPACITY = 7;
const INT16_MIN = -0x8000;
const INT16_MAX = 0x7fff;

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
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
    throw new ParseError('bad-length', WHAT);
  }
  if (offset + length > buf.length) throw new ParseError('truncated', WHAT);
  if (length < 4) throw new ParseError('truncated', WHAT);
  const b0 = buf[offset] ?? 0;
  if (b0 >> 6 !== 2) throw new ParseError('bad-version', WHAT);
  if ((buf[offset + 1] ?? 0) !== RTCP_PT_RTPFB || (b0 & 0x1f) !== TWCC_FMT) {
    throw new ParseError('unsupported', WHAT);
  }
  const size = (((buf[offset + 2] ?? 0) << 8) | (buf[offset + 3] ?? 0)) * 4 + 4;
  if (size > length) throw new ParseError('truncated', WHAT);
  const end = offset + size;
  let payloadEnd = end;
  if ((b0 & 0x20) !== 0) {
    const pad = buf[end - 1] ?? 0;
    if (pad === 0 || pad > size - 4) throw new ParseError('bad-length', WHAT);
    payloadEnd = end - pad;
  }
  // header + at least one chunk
  if (payloadEnd - offset < TWCC_HEADER_BYTES + 2) throw new ParseError('truncated', WHAT);

  const count = ((buf[offset + 14] ?? 0) << 8) | (buf[offset + 15] ?? 0);
  if (count === 0) throw new ParseError('bad-header', WHAT);
  const fb = into ?? newTwccFeedback();
  fb.senderSsrc = readU32(buf, offset + 4);
  fb.mediaSsrc = readU32(buf, offset + 8);
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
 * Incremental size of a feedback packet being filled entry by entry, so a builder can stop before a
 * byte budget is exceeded and start a new packet. Mirrors the serializer's chunking exactly.
 */
export class TwccSizeCounter {
  private readonly chunker = new TwccChunker();
  private readonly trial = new TwccChunker();
  private emitted = 0;
  private deltaBytes = 0;
  private entries = 0;

  reset(): void {
    this.chunker.reset();
    this.emitted = 0;
    this.deltaBytes = 0;
    this.entries = 0;
  }

  get count(): number {
    return this.entries;
  }

  /** Bytes on the wire (padded to 32 bits) of what was added so far. */
  get packetBytes(): number {
    return paddedSize(this.emitted + (this.chunker.isEmpty() ? 0 : 1), this.deltaBytes);
  }

  /**
   * Adds `missing` not-received entries followed by `delta` (null: one more not received), unless
   * the result would exceed `maxBytes` or the status count limit; returns whether it was added.
   */
  tryAdd(missing: number, delta: number | null, maxBytes: number = TWCC_MAX_PACKET_BYTES): boolean {
    const total = missing + 1;
    if (this.entries + total > TWCC_MAX_STATUS_COUNT) return false;
    const symbol = twccSymbol(delta);
    this.trial.copyFrom(this.chunker);
    let emitted = this.emitted;
    for (let i = 0; i < total; i++) {
      const s = i < missing ? 0 : symbol;
      if (!this.trial.isEmpty() && !this.trial.canAdd(s)) {
        this.trial.emit();
        emitted++;
      }
      this.trial.add(s);
    }
    const deltaBytes = this.deltaBytes + symbol;
    if (paddedSize(emitted + 1, deltaBytes) > maxBytes) return false;
    this.chunker.copyFrom(this.trial);
    this.emitted = emitted;
    this.deltaBytes = deltaBytes;
    this.entries += total;
    return true;
  }
}

function paddedSize(chunks: number, deltaBytes: number): number {
  return (TWCC_HEADER_BYTES + 2 * chunks + deltaBytes + 3) & ~3;
}

function validateForSerialize(fb: TwccFeedback): void {
  const n = fb.deltas.length;
  if (n === 0 || n > TWCC_MAX_STATUS_COUNT) throw new RangeError(`twcc: ${n} entries (1..65535 allowed)`);
  if (!isUint(fb.senderSsrc, 0xffffffff) || !isUint(fb.mediaSsrc, 0xffffffff)) throw new RangeError('twcc: ssrc');
  if (!isUint(fb.baseSeq, 0xffff)) throw new RangeError('twcc: baseSeq');
  if (!isUint(fb.fbPktCount, 0xff)) throw new RangeError('twcc: fbPktCount');
  const ref = fb.referenceTime64ms;
  if (!Number.isInteger(ref) || ref < -0x800000 || ref > 0x7fffff) throw new RangeError('twcc: referenceTime64ms');
  for (const d of fb.deltas) {
    if (d !== null && (!Number.isInteger(d) || d < INT16_MIN || d > INT16_MAX)) {
      throw new RangeError(`twcc: delta ${d} not an int16`);
    }
  }
}

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** Walks the entries through the chunker, calling `sink` for each chunk in wire order. */
function forEachChunk(deltas: ReadonlyArray<number | null>, chunker: TwccChunker, sink: (chunk: number) => void): void {
  chunker.reset();
  for (const d of deltas) {
    const s = twccSymbol(d);
    if (!chunker.isEmpty() && !chunker.canAdd(s)) sink(chunker.emit());
    chunker.add(s);
  }
  if (!chunker.isEmpty()) sink(chunker.encodeLast());
}

const sharedChunker = new TwccChunker();

function countChunks(deltas: ReadonlyArray<number | null>): number {
  let chunks = 0;
  forEachChunk(deltas, sharedChunker, () => {
    chunks++;
  });
  return chunks;
}

function deltaBytesOf(deltas: ReadonlyArray<number | null>): number {
  let n = 0;
  for (const d of deltas) n += twccSymbol(d);
  return n;
}

/** Bytes serializeTwcc() writes for `fb` (a multiple of 4). Throws RangeError on invalid input. */
export function twccSerializedLength(fb: TwccFeedback): number {
  validateForSerialize(fb);
  return paddedSize(countChunks(fb.deltas), deltaBytesOf(fb.deltas));
}

/**
 * Serializes `fb` as libwebrtc would: same chunk choice, small deltas for 0..255, large otherwise,
 * padding to 32 bits with the P bit and the count in the last byte. Writes into `out` at
 * `outOffset` when given (RangeError if too small) and returns the written subarray, else a new
 * array. Throws RangeError for values the wire cannot carry (never ParseError).
 */
export function serializeTwcc(fb: TwccFeedback, out?: Uint8Array, outOffset = 0): Uint8Array {
  validateForSerialize(fb);
  const chunks = countChunks(fb.deltas);
  const unpadded = TWCC_HEADER_BYTES + 2 * chunks + deltaBytesOf(fb.deltas);
  const size = (unpadded + 3) & ~3;
  if (size > TWCC_MAX_PACKET_BYTES) throw new RangeError(`twcc: ${size} bytes exceed the RTCP length field`);
  const { buf, offset: o } = outputBuffer('twcc', size, out, outOffset);
  let pos = o;
  const count = fb.deltas.length;
  const pad = size - unpadded;
  buf[pos++] = 0x80 | (pad > 0 ? 0x20 : 0) | TWCC_FMT;
  buf[pos++] = RTCP_PT_RTPFB;
  const words = size / 4 - 1;
  buf[pos++] = words >>> 8;
  buf[pos++] = words & 0xff;
  pos = writeU32(buf, pos, fb.senderSsrc);
  pos = writeU32(buf, pos, fb.mediaSsrc);
  buf[pos++] = fb.baseSeq >>> 8;
  buf[pos++] = fb.baseSeq & 0xff;
  buf[pos++] = count >>> 8;
  buf[pos++] = count & 0xff;
  const ref = fb.referenceTime64ms & 0xffffff;
  buf[pos++] = ref >>> 16;
  buf[pos++] = (ref >>> 8) & 0xff;
  buf[pos++] = ref & 0xff;
  buf[pos++] = fb.fbPktCount;
  forEachChunk(fb.deltas, sharedChunker, (chunk) => {
    buf[pos++] = chunk >>> 8;
    buf[pos++] = chunk & 0xff;
  });
  for (const d of fb.deltas) {
    if (d === null) continue;
    if (d >= 0 && d <= 0xff) {
      buf[pos++] = d;
    } else {
      const v = d & 0xffff;
      buf[pos++] = v >>> 8;
      buf[pos++] = v & 0xff;
    }
  }
  for (let i = 1; i < pad; i++) buf[pos++] = 0;
  if (pad > 0) buf[pos++] = pad;
  return buf.subarray(o, o + size);
}

export interface TwccDeltasResult {
  /** Reference time of the first received entry, floored to 64 ms, as the wire's signed 24 bits. */
  referenceTime64ms: number;
  /** Entries for baseSeq + i, i < consumed: null or the rounded 250 us delta. */
  deltas: Array<number | null>;
  /**
   * How many input entries the feedback covers (ends at a received entry). The next packet starts
   * at baseSeq + consumed. 0 when no entry was received.
   */
  consumed: number;
}

export interface TwccDeltasOptions {
  /** Byte budget of the serialized packet (default: the RTCP limit, 262144). */
  maxBytes?: number;
}

/**
 * Converts arrival times (us, one per sequence number from the packet's base; null = not received)
 * into the wire form, as libwebrtc's receiver does: the reference time is the first received
 * packet's time floored to 64 ms; each delta is (arrival - previous reconstructed time) rounded to
 * 250 us (half away from zero), and the reconstructed time advances by the rounded delta, so
 * rounding errors never accumulate. Stops before an entry whose delta does not fit an int16, or that
 * would make the packet exceed `maxBytes` or 65535 entries: the caller builds another packet from
 * baseSeq + consumed. Trailing not-received entries are left for the next packet (libwebrtc never
 * ends a feedback with losses, which may yet arrive).
 */
export function twccDeltasFromArrivalsUs(
  arrivalsUs: ReadonlyArray<number | null>,
  options: TwccDeltasOptions = {},
): TwccDeltasResult {
  const maxBytes = options.maxBytes ?? TWCC_MAX_PACKET_BYTES;
  if (maxBytes < TWCC_HEADER_BYTES + 4) throw new RangeError(`twcc: maxBytes ${maxBytes} too small`);
  const deltas: Array<number | null> = [];
  let first = -1;
  for (let i = 0; i < arrivalsUs.length; i++) {
    if (arrivalsUs[i] !== null && arrivalsUs[i] !== undefined) {
      first = i;
      break;
    }
  }
  if (first < 0) return { referenceTime64ms: 0, deltas, consumed: 0 };
  const t0 = arrivalsUs[first] ?? 0;
  if (!Number.isFinite(t0)) throw new RangeError('twcc: arrival time not finite');
  const refTicks = Math.floor(t0 / TWCC_REFERENCE_TICK_US);
  let lastUs = refTicks * TWCC_REFERENCE_TICK_US;
  const wrapped = ((refTicks % 0x1000000) + 0x1000000) % 0x1000000;
  const referenceTime64ms = wrapped >= 0x800000 ? wrapped - 0x1000000 : wrapped;
  const sizer = new TwccSizeCounter();
  let missing = 0;
  let consumed = 0;
  for (let i = 0; i < arrivalsUs.length; i++) {
    const a = arrivalsUs[i];
    if (a === null || a === undefined) {
      missing++;
      continue;
    }
    if (!Number.isFinite(a)) throw new RangeError('twcc: arrival time not finite');
    const diff = a - lastUs;
    const delta = diff >= 0 ? Math.trunc((diff + 125) / 250) : Math.trunc((diff - 125) / 250);
    if (delta < INT16_MIN || delta > INT16_MAX) break;
    if (!sizer.tryAdd(missing, delta, maxBytes)) break;
    for (let k = 0; k < missing; k++) deltas.push(null);
    deltas.push(delta);
    missing = 0;
    lastUs += delta * TWCC_DELTA_TICK_US;
    consumed = i + 1;
  }
  return { referenceTime64ms, deltas, consumed };
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

function readU32(buf: Uint8Array, o: number): number {
  return (((buf[o] ?? 0) << 24) | ((buf[o + 1] ?? 0) << 16) | ((buf[o + 2] ?? 0) << 8) | (buf[o + 3] ?? 0)) >>> 0;
}

function writeU32(buf: Uint8Array, o: number, v: number): number {
  buf[o] = v >>> 24;
  buf[o + 1] = (v >>> 16) & 0xff;
  buf[o + 2] = (v >>> 8) & 0xff;
  buf[o + 3] = v & 0xff;
  return o + 4;
}
