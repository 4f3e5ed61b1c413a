/**
 * 5-tuple flow keys and cheap 32-bit hashes over a decoded PacketView.
 *
 * Tuple words hashed (murmur3-style mixing, 32-bit, seedable):
 *  +-----------+-----------+-----------+-----------+
 *  | src0      | src1      | src2      | src3      |   IPv4: src0 only, others 0
 *  +-----------+-----------+-----------+-----------+
 *  | dst0      | dst1      | dst2      | dst3      |
 *  +-----------+-----------+-----------+-----------+
 *  | srcPort<<16 | dstPort | family<<8 | protocol  |
 *  +-----------+-----------+-----------+-----------+
 *
 * Directional hash: as seen. Canonical hash: the endpoint (address words, then port) that sorts
 * lower is put first, so A->B and B->A hash the same. Hashes collide: a flow table must confirm
 * a hit with `viewMatchesFlowKey` (allocation-free). String keys are for logs and the cold path.
 *
 * packetMatchKey hashes the fields a forwarded packet keeps from ingress (eth) to egress (wlan)
 * even when the AP NATs it: IP ID, protocol, total length, fragment offset, TCP seq/ack and the
 * first <= 16 captured payload bytes (UDP: and bytes 32-47 when captured). Addresses and ports
 * are left out (de-NAT of a masqueraded client rewrites the destination address and port,
 * SNAT/DNAT either), as are TTL/hop limit and
 * checksums (the router rewrites them). Linux NAT keeps IP ID, seq/ack and payload (no ALG
 * helpers on the treated ports). Packets of different flows then differ by their payload bytes
 * (RTP sequence/timestamp/SSRC, QUIC connection id, TCP seq/ack): a collision needs the same
 * length, IP ID and first 16 payload bytes (measured: none in the 790 packets of the Chromium
 * call, test/protocols/flow-key.test.ts).
 */
import {
  addressPairEquals,
  copyAddressPair,
  copyAddressPairReversed,
  formatAddressWords,
  type AddressPair,
} from './address-pair.js';
import { readU32 } from './bytes.js';
import type { PacketView } from './packet.js';

/** A directional 5-tuple; the addresses in the layout of address-pair.ts. */
export interface FlowKey extends AddressPair {
  /** 4, 6, or 0 for non-IP. */
  family: number;
  protocol: number;
  srcPort: number;
  dstPort: number;
}

export function newFlowKey(): FlowKey {
  return { family: 0, protocol: 0, src0: 0, src1: 0, src2: 0, src3: 0, dst0: 0, dst1: 0, dst2: 0, dst3: 0, srcPort: 0, dstPort: 0 };
}

function familyOf(v: PacketView): number {
  return v.l3 === 'ipv4' ? 4 : v.l3 === 'ipv6' ? 6 : 0;
}

/** Ports only count for TCP/UDP (fragments and other protocols hash with ports 0). */
function portsOf(v: PacketView): number {
  return v.l4 === 'tcp' || v.l4 === 'udp' ? ((v.srcPort << 16) | v.dstPort) >>> 0 : 0;
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
export const FLOW_HASH_SEED = 0x9747b28c;

/** One murmur3 block round. */
export function mix32(h: number, k: number): number {
  let x = Math.imul(k, C1);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, C2);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

/** murmur3 finalizer; returns an unsigned 32-bit number. */
export function finish32(h: number, length: number): number {
  let x = h ^ length;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function hashTuple(
  seed: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  ports: number,
  famProto: number,
): number {
  let h = seed;
  h = mix32(h, a0);
  h = mix32(h, a1);
  h = mix32(h, a2);
  h = mix32(h, a3);
  h = mix32(h, b0);
  h = mix32(h, b1);
  h = mix32(h, b2);
  h = mix32(h, b3);
  h = mix32(h, ports);
  h = mix32(h, famProto);
  return finish32(h, 40);
}

/**
 * Compares endpoint A (address words, port) with endpoint B: negative when A sorts first,
 * 0 when equal, positive otherwise.
 */
function compareEndpoints(
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  ap: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  bp: number,
): number {
  if (a0 !== b0) return a0 - b0;
  if (a1 !== b1) return a1 - b1;
  if (a2 !== b2) return a2 - b2;
  if (a3 !== b3) return a3 - b3;
  return ap - bp;
}

/** Directional 32-bit hash of the view's 5-tuple (unsigned). */
export function flowHash(v: PacketView, seed = FLOW_HASH_SEED): number {
  return hashTuple(seed, v.src0, v.src1, v.src2, v.src3, v.dst0, v.dst1, v.dst2, v.dst3, portsOf(v), (familyOf(v) << 8) | v.protocol);
}

/** True when the view's direction is already the canonical one (source endpoint sorts first or equal). */
export function isCanonicalDirection(v: PacketView): boolean {
  const ports = portsOf(v);
  return compareEndpoints(v.src0, v.src1, v.src2, v.src3, ports >>> 16, v.dst0, v.dst1, v.dst2, v.dst3, ports & 0xffff) <= 0;
}

/** Direction-independent 32-bit hash: A->B and B->A give the same value. */
export function canonicalFlowHash(v: PacketView, seed = FLOW_HASH_SEED): number {
  if (isCanonicalDirection(v)) return flowHash(v, seed);
  const ports = portsOf(v);
  const rev = (((ports & 0xffff) << 16) | (ports >>> 16)) >>> 0;
  return hashTuple(seed, v.dst0, v.dst1, v.dst2, v.dst3, v.src0, v.src1, v.src2, v.src3, rev, (familyOf(v) << 8) | v.protocol);
}

/** Hash of a FlowKey; equals flowHash of a view the key was taken from. */
export function flowKeyHash(k: FlowKey, seed = FLOW_HASH_SEED): number {
  return hashTuple(
    seed,
    k.src0,
    k.src1,
    k.src2,
    k.src3,
    k.dst0,
    k.dst1,
    k.dst2,
    k.dst3,
    ((k.srcPort << 16) | k.dstPort) >>> 0,
    (k.family << 8) | k.protocol,
  );
}

/** Copies the view's directional 5-tuple into `out` (allocated when omitted). */
export function flowKeyFromView(v: PacketView, out: FlowKey = newFlowKey()): FlowKey {
  const ports = portsOf(v);
  out.family = familyOf(v);
  out.protocol = v.protocol;
  copyAddressPair(v, out);
  out.srcPort = ports >>> 16;
  out.dstPort = ports & 0xffff;
  return out;
}

/** The key of the opposite direction (into `out`, which may be `k` itself). */
export function reverseFlowKey(k: FlowKey, out: FlowKey = newFlowKey()): FlowKey {
  const sp = k.srcPort;
  out.family = k.family;
  out.protocol = k.protocol;
  copyAddressPairReversed(k, out);
  out.srcPort = k.dstPort;
  out.dstPort = sp;
  return out;
}

export function isCanonicalKey(k: FlowKey): boolean {
  return compareEndpoints(k.src0, k.src1, k.src2, k.src3, k.srcPort, k.dst0, k.dst1, k.dst2, k.dst3, k.dstPort) <= 0;
}

/** The canonical orientation of a key (into `out`, which may be `k` itself). */
export function canonicalFlowKey(k: FlowKey, out: FlowKey = newFlowKey()): FlowKey {
  if (isCanonicalKey(k)) {
    if (out !== k) Object.assign(out, k);
    return out;
  }
  return reverseFlowKey(k, out);
}

export function flowKeyEquals(a: FlowKey, b: FlowKey): boolean {
  return (
    a.family === b.family &&
    a.protocol === b.protocol &&
    addressPairEquals(a, b) &&
    a.srcPort === b.srcPort &&
    a.dstPort === b.dstPort
  );
}

/** Allocation-free check that the view belongs to key `k` in its direction (or, with `eitherWay`, in either). */
export function viewMatchesFlowKey(v: PacketView, k: FlowKey, eitherWay = false): boolean {
  if (familyOf(v) !== k.family || v.protocol !== k.protocol) return false;
  const ports = portsOf(v);
  const sp = ports >>> 16;
  const dp = ports & 0xffff;
  if (
    v.src0 === k.src0 && v.src1 === k.src1 && v.src2 === k.src2 && v.src3 === k.src3 && sp === k.srcPort &&
    v.dst0 === k.dst0 && v.dst1 === k.dst1 && v.dst2 === k.dst2 && v.dst3 === k.dst3 && dp === k.dstPort
  ) return true; // prettier-ignore
  return (
    eitherWay &&
    v.src0 === k.dst0 && v.src1 === k.dst1 && v.src2 === k.dst2 && v.src3 === k.dst3 && sp === k.dstPort &&
    v.dst0 === k.src0 && v.dst1 === k.src1 && v.dst2 === k.src2 && v.dst3 === k.src3 && dp === k.srcPort
  ); // prettier-ignore
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

function endpoint(k: FlowKey, src: boolean): string {
  const port = src ? k.srcPort : k.dstPort;
  const a = src
    ? formatAddressWords(k.family, k.src0, k.src1, k.src2, k.src3)
    : formatAddressWords(k.family, k.dst0, k.dst1, k.dst2, k.dst3);
  return k.family === 6 ? `[${a}]:${port}` : `${a}:${port}`;
}

/** Cold path: e.g. "udp 10.78.1.1:5000>10.78.2.1:6000" or "tcp [2001:db8::1]:80>[2001:db8::2]:4242". */
export function flowKeyToString(k: FlowKey): string {
  const p = PROTO_NAMES[k.protocol] ?? `proto${k.protocol}`;
  return `${p} ${endpoint(k, true)}>${endpoint(k, false)}`;
}

/** Cold path: string of the view's directional (or canonical) key. */
export function flowKeyStringOfView(v: PacketView, canonical = false): string {
  const k = flowKeyFromView(v);
  return flowKeyToString(canonical ? canonicalFlowKey(k, k) : k);
}

/**
 * 32-bit hash of the fields a packet keeps between its ingress on one interface and its egress on
 * another after forwarding, NAT included (see the file comment: no addresses, no ports). Reads
 * up to 16 captured payload bytes of `buf` (the buffer the view was decoded from).
 */
export function packetMatchKey(v: PacketView, buf: Uint8Array, seed = FLOW_HASH_SEED): number {
  let h = seed;
  h = mix32(h, v.ipId);
  h = mix32(h, (v.protocol << 16) | v.ipTotalLength);
  h = mix32(h, v.fragmentOffset);
  if (v.l4 === 'tcp') {
    h = mix32(h, v.tcpSeq);
    h = mix32(h, v.tcpAck);
  }
  let n = v.capturedPayloadLength < 16 ? v.capturedPayloadLength : 16;
  const end = v.payloadOffset + n > buf.length ? buf.length : v.payloadOffset + n;
  n = end - v.payloadOffset;
  let o = v.payloadOffset;
  for (; o + 4 <= end; o += 4) h = mix32(h, readU32(buf, o));
  let tail = 0;
  for (; o < end; o++) tail = (tail << 8) | buf[o]!;
  h = mix32(h, tail);
  // UDP: 16 more bytes from offset 32 when captured. A QUIC short header is constant for 16
  // bytes (flags, then the connection id, up to 20 bytes) and a server on an unconnected socket
  // sends IP ID 0 with DF; at offset 32 a short header (1 + 20 + 4 bytes at most) has ended
  // and the AEAD ciphertext differs in every packet.
  if (v.l4 === 'udp' && v.payloadOffset + UDP_KEY_EXTRA_END <= buf.length && v.capturedPayloadLength >= UDP_KEY_EXTRA_END) {
    for (o = v.payloadOffset + UDP_KEY_EXTRA_START; o < v.payloadOffset + UDP_KEY_EXTRA_END; o += 4) h = mix32(h, readU32(buf, o));
  }
  return finish32(h, n < 0 ? 0 : n);
}

/** The UDP payload bytes [START, END) packetMatchKey also hashes (past any QUIC short header). */
const UDP_KEY_EXTRA_START = 32;
const UDP_KEY_EXTRA_END = 48;
