/**
 * Transport-wide CC feedback encoder (the wire format is in twcc.ts): serializing a feedback as
 * libwebrtc does, and turning arrival times into the wire's reference time + 250 us deltas.
 */
import { isUint, writeU32 } from '../bytes.js';
import type { TwccFeedback } from '../feedback-types.js';
import { outputBuffer } from '../out-buffer.js';
import { RTCP_PT_RTPFB, writeRtcpHeader } from './header.js';
import {
  TWCC_DELTA_TICK_US,
  TWCC_FMT,
  TWCC_HEADER_BYTES,
  TWCC_MAX_PACKET_BYTES,
  TWCC_MAX_STATUS_COUNT,
  TWCC_REFERENCE_TICK_US,
  twccSymbol,
  TwccChunker,
} from './twcc.js';
import { TwccSizeCounter, twccPaddedSize } from './twcc-size-counter.js';

const INT16_MIN = -0x8000;
const INT16_MAX = 0x7fff;

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
  return twccPaddedSize(countChunks(fb.deltas), deltaBytesOf(fb.deltas));
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
  const count = fb.deltas.length;
  const pad = size - unpadded;
  let pos = writeRtcpHeader(buf, o, pad > 0, TWCC_FMT, RTCP_PT_RTPFB, size);
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
