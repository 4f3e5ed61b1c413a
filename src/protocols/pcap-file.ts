/**
 * Capture files: reader for classic pcap and pcapng, writer for classic pcap. Pure: works on a
 * buffer already in memory; records are `subarray` views into it (no copy).
 *
 * Classic pcap (either byte order; magic a1b2c3d4 = µs, a1b23c4d = ns):
 *  +---------------------------------------------------------------+
 *  | magic(4) | ver major(2) | ver minor(2) | thiszone(4) | sigfigs(4) |
 *  | snaplen(4) | linktype(4: low 16 bits = LINKTYPE, high = FCS info) |   24 bytes
 *  +---------------------------------------------------------------+
 *  | ts_sec(4) | ts_usec or ts_nsec(4) | incl_len(4) | orig_len(4) |   16 bytes / record
 *  | packet data (incl_len bytes) ...                              |
 *  +---------------------------------------------------------------+
 *
 * pcapng (byte order set by each Section Header Block):
 *  +---------------------------------------------------------------+
 *  | block type(4) | block total length(4) | body ... (padded to 4) |
 *  | block total length(4)                                          |
 *  +---------------------------------------------------------------+
 *  SHB 0x0A0D0D0A: byte-order magic 1A2B3C4D(4) | major(2) | minor(2) | section length(8) | options
 *  IDB 0x00000001: linktype(2) | reserved(2) | snaplen(4) | options (if_tsresol = 9, if_tsoffset = 14)
 *  EPB 0x00000006: interface id(4) | ts high(4) | ts low(4) | cap len(4) | orig len(4) | data | options
 *  SPB 0x00000003: orig len(4) | data (cap len = min(orig len, body - 4)); interface 0, no timestamp
 *  PB  0x00000002 (obsolete): interface id(2) | drops(2) | ts high | ts low | cap len | orig len | data
 *  Any other block type is skipped. Options: code(2) | length(2) | value padded to 4; code 0 ends.
 *
 * Timestamps are given in microseconds (tUs, integer, floor) since the epoch. An SPB has no
 * timestamp: it gets the previous record's tUs (0 before any). Malformed input throws ParseError
 * (records before the bad one have already been yielded).
 */
import { readU16Order, readU32Order } from './bytes.js';
import { ParseError } from './errors.js';

export interface CaptureRecord {
  /** Capture time, microseconds since the epoch. */
  tUs: number;
  /** LINKTYPE / DLT number of the record's interface. */
  linkType: number;
  /** Captured bytes (a view into the file buffer). */
  data: Uint8Array;
  /** Length of the packet on the wire. */
  origLen: number;
  /** pcapng interface id (0 for classic pcap). */
  ifIndex: number;
}

export type CaptureFormat = 'pcap' | 'pcapng' | 'unknown';

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

export function detectCaptureFormat(buf: Uint8Array): CaptureFormat {
  if (buf.length < 4) return 'unknown';
  const be = readU32Order(buf, 0, false);
  const le = readU32Order(buf, 0, true);
  if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) return 'pcap';
  if (be === PCAPNG_SHB) return 'pcapng';
  return 'unknown';
}

/** Iterates the records of a classic pcap or pcapng file held in `buf`. */
export function* readCapture(buf: Uint8Array): Generator<CaptureRecord, void, undefined> {
  const fmt = detectCaptureFormat(buf);
  if (fmt === 'pcap') yield* readPcap(buf);
  else if (fmt === 'pcapng') yield* readPcapng(buf);
  else throw new ParseError('unsupported', 'capture file');
}

/** Classic pcap records. */
export function* readPcap(buf: Uint8Array): Generator<CaptureRecord, void, undefined> {
  if (buf.length < 24) throw new ParseError('truncated', 'pcap header');
  const m = readU32Order(buf, 0, false);
  let le: boolean;
  let nanos: boolean;
  if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) {
    le = false;
    nanos = m === PCAP_MAGIC_NS;
  } else {
    const ml = readU32Order(buf, 0, true);
    if (ml !== PCAP_MAGIC_US && ml !== PCAP_MAGIC_NS) throw new ParseError('unsupported', 'pcap magic');
    le = true;
    nanos = ml === PCAP_MAGIC_NS;
  }
  const linkType = readU32Order(buf, 20, le) & 0xffff;
  let o = 24;
  while (o < buf.length) {
    if (o + 16 > buf.length) throw new ParseError('truncated', 'pcap record');
    const sec = readU32Order(buf, o, le);
    const frac = readU32Order(buf, o + 4, le);
    const incl = readU32Order(buf, o + 8, le);
    const orig = readU32Order(buf, o + 12, le);
    if (frac >= (nanos ? 1_000_000_000 : 1_000_000)) throw new ParseError('bad-header', 'pcap record');
    if (o + 16 + incl > buf.length) throw new ParseError('truncated', 'pcap record');
    const tUs = sec * 1_000_000 + (nanos ? Math.floor(frac / 1000) : frac);
    yield { tUs, linkType, data: buf.subarray(o + 16, o + 16 + incl), origLen: orig, ifIndex: 0 };
    o += 16 + incl;
  }
}

interface PcapngInterface {
  linkType: number;
  /** Ticks per second is 10^exp10 (exp2 < 0) or 2^exp2. */
  exp10: number;
  exp2: number;
  /** if_tsoffset, seconds. */
  offsetS: number;
}

/** Converts a 64-bit tick count (hi, lo) to integer µs for the interface's resolution. */
function ticksToUs(hi: number, lo: number, itf: PcapngInterface): number {
  let us: number;
  if (itf.exp2 < 0 && itf.exp10 === 6) {
    us = hi * 0x1_0000_0000 + lo;
  } else {
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    if (itf.exp2 >= 0) us = Number((ticks * 1_000_000n) >> BigInt(itf.exp2));
    else if (itf.exp10 >= 6) us = Number(ticks / 10n ** BigInt(itf.exp10 - 6));
    else us = Number(ticks * 10n ** BigInt(6 - itf.exp10));
  }
  return us + itf.offsetS * 1_000_000;
}

function parseIdb(buf: Uint8Array, body: number, end: number, le: boolean): PcapngInterface {
  if (body + 8 > end) throw new ParseError('bad-length', 'pcapng idb');
  const itf: PcapngInterface = { linkType: readU16Order(buf, body, le), exp10: 6, exp2: -1, offsetS: 0 };
  let o = body + 8;
  while (o + 4 <= end) {
    const code = readU16Order(buf, o, le);
    const olen = readU16Order(buf, o + 2, le);
    if (code === 0) break;
    if (o + 4 + olen > end) throw new ParseError('bad-length', 'pcapng option');
    if (code === 9 && olen >= 1) {
      const r = buf[o + 4]!;
      if ((r & 0x80) !== 0) {
        itf.exp2 = r & 0x7f;
      } else {
        itf.exp10 = r;
        itf.exp2 = -1;
      }
      if (itf.exp2 > 64 || itf.exp10 > 18) throw new ParseError('bad-header', 'pcapng if_tsresol');
    } else if (code === 14 && olen >= 8) {
      const hi = readU32Order(buf, o + 4 + (le ? 4 : 0), le) | 0; // signed 64-bit; seconds
      const lo = readU32Order(buf, o + 4 + (le ? 0 : 4), le);
      itf.offsetS = hi * 0x1_0000_0000 + lo;
    }
    o += 4 + ((olen + 3) & ~3);
  }
  return itf;
}

/** pcapng records (EPB, SPB, obsolete PB); other blocks skipped. */
export function* readPcapng(buf: Uint8Array): Generator<CaptureRecord, void, undefined> {
  let o = 0;
  let le = false;
  let inSection = false;
  let ifaces: PcapngInterface[] = [];
  let lastTUs = 0;
  while (o < buf.length) {
    if (o + 12 > buf.length) throw new ParseError('truncated', 'pcapng block');
    const typeBe = readU32Order(buf, o, false);
    if (typeBe === PCAPNG_SHB) {
      // byte order of this section from the byte-order magic
      if (o + 28 > buf.length) throw new ParseError('truncated', 'pcapng shb');
      const bomBe = readU32Order(buf, o + 8, false);
      if (bomBe === PCAPNG_BOM) le = false;
      else if (readU32Order(buf, o + 8, true) === PCAPNG_BOM) le = true;
      else throw new ParseError('bad-header', 'pcapng shb');
      if (readU16Order(buf, o + 12, le) !== 1) throw new ParseError('unsupported', 'pcapng version');
      inSection = true;
      ifaces = [];
    } else if (!inSection) {
      throw new ParseError('bad-header', 'pcapng');
    }
    const type = readU32Order(buf, o, le);
    const total = readU32Order(buf, o + 4, le);
    if (total < 12 || total % 4 !== 0) throw new ParseError('bad-length', 'pcapng block');
    if (o + total > buf.length) throw new ParseError('truncated', 'pcapng block');
    if (readU32Order(buf, o + total - 4, le) !== total) throw new ParseError('bad-length', 'pcapng block');
    const body = o + 8;
    const end = o + total - 4;
    if (type === 1) {
      ifaces.push(parseIdb(buf, body, end, le));
    } else if (type === 6 || type === 2) {
      if (body + 20 > end) throw new ParseError('bad-length', 'pcapng epb');
      const id = type === 6 ? readU32Order(buf, body, le) : readU16Order(buf, body, le);
      const itf = ifaces[id];
      if (itf === undefined) throw new ParseError('bad-header', 'pcapng interface id');
      const capLen = readU32Order(buf, body + 12, le);
      const origLen = readU32Order(buf, body + 16, le);
      if (body + 20 + capLen > end) throw new ParseError('bad-length', 'pcapng epb');
      const tUs = ticksToUs(readU32Order(buf, body + 4, le), readU32Order(buf, body + 8, le), itf);
      lastTUs = tUs;
      yield { tUs, linkType: itf.linkType, data: buf.subarray(body + 20, body + 20 + capLen), origLen, ifIndex: id };
    } else if (type === 3) {
      if (body + 4 > end) throw new ParseError('bad-length', 'pcapng spb');
      const itf = ifaces[0];
      if (itf === undefined) throw new ParseError('bad-header', 'pcapng interface id');
      const origLen = readU32Order(buf, body, le);
      const room = end - body - 4;
      const capLen = origLen < room ? origLen : room;
      yield { tUs: lastTUs, linkType: itf.linkType, data: buf.subarray(body + 4, body + 4 + capLen), origLen, ifIndex: 0 };
    }
    o += total;
  }
}

export interface PcapWriter {
  /** The 24-byte file header. */
  header(): Uint8Array;
  /** One record (16-byte record header + data); `origLen` defaults to data.length. */
  record(tUs: number, data: Uint8Array, origLen?: number): Uint8Array;
}

/** Classic pcap writer (little-endian, µs timestamps). Bytes are returned; the caller writes them. */
export function pcapWriter(linkType: number, snapLen = 262144): PcapWriter {
  return {
    header(): Uint8Array {
      const h = new Uint8Array(24);
      const dv = new DataView(h.buffer);
      dv.setUint32(0, PCAP_MAGIC_US, true);
      dv.setUint16(4, 2, true);
      dv.setUint16(6, 4, true);
      dv.setUint32(16, snapLen, true);
      dv.setUint32(20, linkType, true);
      return h;
    },
    record(tUs: number, data: Uint8Array, origLen?: number): Uint8Array {
      const incl = data.length < snapLen ? data.length : snapLen;
      const r = new Uint8Array(16 + incl);
      const dv = new DataView(r.buffer);
      const t = Math.floor(tUs);
      const sec = Math.floor(t / 1_000_000);
      dv.setUint32(0, sec, true);
      dv.setUint32(4, t - sec * 1_000_000, true);
      dv.setUint32(8, incl, true);
      dv.setUint32(12, origLen ?? data.length, true);
      r.set(data.subarray(0, incl), 16);
      return r;
    },
  };
}
