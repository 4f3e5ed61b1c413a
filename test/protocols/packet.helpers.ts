/**
 * Test helpers for the protocol codecs: golden frames and a builder of random well-formed packets.
 *
 * GOLDEN frames were built by an independent Python script (struct + its own RFC 1071 sum) and
 * verified with tshark 4.x (`-o {ip,tcp,udp}.check_checksum:TRUE`): every IPv4/TCP/UDP checksum
 * reported "good" (raw_ipv4_opts_udp0 carries UDP checksum 0 = "not present").
 */
import fc from 'fast-check';
import { ParseError } from '../../src/protocols/errors.js';

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

/** Runs fn and rethrows anything that is not a ParseError (returns true when it threw ParseError). */
export function onlyParseError(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (e instanceof ParseError) return true;
    throw e;
  }
}

export const GOLDEN = {
  eth_ipv4_tcp_syn: '02000000000202000000000108004500003cabcd40004006c33ac0a8010a0a0000029c4001bb0102030400000000a002faf0df580000020405b40402080a000000010000000001030307',
  eth_vlan_ipv4_udp: '02000000000202000000000181002064080045000021000740003f1124280a4e01010a4e0201138c1770000d796868656c6c6f',
  eth_qinq_ipv6_udp: '02000000000202000000000188a80064810000c886dd60012345000b114020010db800000000000000000000000120010db800000001000000000000000200358235000b1ff7000102',
  eth_ipv6_hbh_frag_tcp: '02000000000202000000000186dd600123450038004020010db800000000000000000000000120010db80000000100000000000000022c0001040000000006000001deadbeef1f90c350000003e8000007d0801802001c6c00000101050a0000000a000000144142434445464748',
  raw_ipv6_dstopt_tcp: '6001234500303c4020010db800000000000000000000000120010db800000001000000000000000206000104000000001f90c350000003e8000007d0801802001c6c00000101050a0000000a000000144142434445464748',
  sll_ipv4_tcp_ack: '00040001000602000000000100000800450000284242400001066bda0a000002c0a8010a01bb9c400000138801020305501003e82aae0000',
  sll2_ipv6_udp: '86dd00000000000700010006020000000002000060012345000c11ff20010db800000001000000000000000220010db800000000000000000000000182350035000c2f5b78797a21',
  eth_ipv4_frag2: '02000000000202000000000108004500002c006300b94011adf1c0a8010a0a000002111111111111111111111111111111111111111111111111',
  eth_arp: '02000000000202000000000108060001080006040001020000000001c0a8010a000000000000c0a80101',
  raw_ipv4_opts_udp0: '4600002400014000401127b401020304050607080101010004d2162e000c000061626364',
} as const;

export type GoldenName = keyof typeof GOLDEN;
export function golden(name: GoldenName): Uint8Array {
  return hex(GOLDEN[name]);
}

// ---------- random well-formed packet builder (checksums left zero; fix them with checksum.ts) ----------

export interface BuiltPacket {
  bytes: Uint8Array;
  link: 'ethernet' | 'sll' | 'sll2' | 'raw-ip';
  ipOffset: number;
  v6: boolean;
  protocol: number;
  l4Offset: number;
  srcPort: number;
  dstPort: number;
  payloadLength: number;
}

function be16(a: number[], v: number): void {
  a.push((v >>> 8) & 255, v & 255);
}
function be32(a: number[], v: number): void {
  a.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

export const packetArb: fc.Arbitrary<BuiltPacket> = fc
  .record({
    link: fc.constantFrom('ethernet' as const, 'sll' as const, 'sll2' as const, 'raw-ip' as const),
    vlans: fc.integer({ min: 0, max: 2 }),
    v6: fc.boolean(),
    ipOpts: fc.integer({ min: 0, max: 10 }),
    ext: fc.array(fc.constantFrom(0, 43, 60, 51), { maxLength: 3 }),
    tcp: fc.boolean(),
    tcpOptWords: fc.integer({ min: 0, max: 10 }),
    sack: fc.boolean(),
    flags: fc.integer({ min: 0, max: 255 }),
    ports: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })),
    words: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 12, maxLength: 12 }),
    payload: fc.uint8Array({ maxLength: 64 }),
    ttl: fc.integer({ min: 0, max: 255 }),
  })
  .map((r) => {
    const a: number[] = [];
    const etherType = r.v6 ? 0x86dd : 0x0800;
    if (r.link === 'ethernet') {
      for (let i = 0; i < 12; i++) a.push(i);
      for (let i = 0; i < r.vlans; i++) {
        be16(a, i === 0 && r.vlans === 2 ? 0x88a8 : 0x8100);
        be16(a, 100 + i);
      }
      be16(a, etherType);
    } else if (r.link === 'sll') {
      be16(a, r.flags % 5);
      be16(a, 1);
      be16(a, 6);
      for (let i = 0; i < 8; i++) a.push(i);
      be16(a, etherType);
    } else if (r.link === 'sll2') {
      be16(a, etherType);
      be16(a, 0);
      be32(a, 3);
      be16(a, 1);
      a.push(r.flags % 5, 6);
      for (let i = 0; i < 8; i++) a.push(i);
    }
    const ipOffset = a.length;
    const protocol = r.tcp ? 6 : 17;
    // L4
    const l4: number[] = [];
    if (r.tcp) {
      const opts: number[] = [];
      if (r.sack && r.tcpOptWords >= 3) {
        opts.push(1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2);
      }
      while (opts.length < r.tcpOptWords * 4) opts.push(1);
      be16(l4, r.ports[0]);
      be16(l4, r.ports[1]);
      be32(l4, r.words[8]!);
      be32(l4, r.words[9]!);
      l4.push(((20 + opts.length) / 4) << 4, r.flags);
      be16(l4, r.words[10]! & 0xffff);
      be16(l4, 0);
      be16(l4, 0);
      l4.push(...opts);
    } else {
      be16(l4, r.ports[0]);
      be16(l4, r.ports[1]);
      be16(l4, 8 + r.payload.length);
      be16(l4, 0);
    }
    l4.push(...r.payload);
    let l4Offset: number;
    if (!r.v6) {
      const ihl = 5 + r.ipOpts;
      a.push(0x40 | ihl, 0);
      be16(a, ihl * 4 + l4.length);
      be16(a, r.words[11]! & 0xffff);
      be16(a, 0x4000);
      a.push(r.ttl, protocol);
      be16(a, 0);
      be32(a, r.words[0]!);
      be32(a, r.words[1]!);
      for (let i = 0; i < r.ipOpts * 4; i++) a.push(1);
      l4Offset = a.length;
    } else {
      const exts: number[] = [];
      const chain = [...r.ext, protocol];
      for (let i = 0; i < r.ext.length; i++) {
        const nh = chain[i + 1]!;
        if (r.ext[i] === 51) exts.push(nh, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2);
        else exts.push(nh, 0, 1, 4, 0, 0, 0, 0);
      }
      be32(a, 0x60000000 | (r.words[11]! & 0xfffff));
      be16(a, exts.length + l4.length);
      a.push(chain[0]!, r.ttl);
      for (let i = 0; i < 8; i++) be32(a, r.words[i]!);
      a.push(...exts);
      l4Offset = a.length;
    }
    a.push(...l4);
    return {
      bytes: Uint8Array.from(a),
      link: r.link,
      ipOffset,
      v6: r.v6,
      protocol,
      l4Offset,
      srcPort: r.ports[0],
      dstPort: r.ports[1],
      payloadLength: r.payload.length,
    };
  });

/** A built packet plus a mutation: truncation, byte flips, or both. */
export const mutatedPacketArb = fc.tuple(
  packetArb,
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
  fc.option(fc.nat(), { nil: undefined }),
);

export function mutate(p: BuiltPacket, flips: Array<[number, number]>, cut: number | undefined): Uint8Array {
  const b = Uint8Array.from(p.bytes);
  for (const [i, v] of flips) if (b.length > 0) b[i % b.length] = v;
  return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
}
