import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fixIpPacketChecksums, fixIpv4HeaderChecksum, fixL4Checksum, foldSum, incrementalChecksum16, incrementalChecksum32,
  internetChecksum, ipv4HeaderChecksum, l4Checksum, l4ChecksumInfo, onesSum, rewrite16, verifyIpv4HeaderChecksum, verifyL4Checksum,
} from '../../src/protocols/checksum.js';
import { golden, hex, packetArb, type GoldenName } from './packet.helpers.js';

const rd16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

describe('internetChecksum (RFC 1071)', () => {
  it('matches the RFC 1071 §3 worked example', () => {
    const b = hex('0001 f203 f4f5 f6f7');
    expect(foldSum(onesSum(b, 0, b.length))).toBe(0xddf2);
    expect(internetChecksum(b, 0, b.length)).toBe(0x220d);
  });
  it('pads an odd tail with a zero byte', () => {
    expect(internetChecksum(hex('0001 f203 f4'), 0, 5)).toBe(internetChecksum(hex('0001 f203 f400'), 0, 6));
  });
  it('checks its range', () => {
    expect(() => onesSum(new Uint8Array(4), 0, 5)).toThrow(expect.objectContaining({ name: 'ParseError' }));
  });
});

// golden frames (tshark: every checksum "good") with the IP header offset
const V4: Array<[GoldenName, number]> = [
  ['eth_ipv4_tcp_syn', 14],
  ['eth_vlan_ipv4_udp', 18],
  ['sll_ipv4_tcp_ack', 16],
  ['raw_ipv4_opts_udp0', 0],
  ['eth_ipv4_frag2', 14],
];
const L4: Array<[GoldenName, number]> = [
  ['eth_ipv4_tcp_syn', 14],
  ['eth_vlan_ipv4_udp', 18],
  ['sll_ipv4_tcp_ack', 16],
  ['eth_qinq_ipv6_udp', 22],
  ['raw_ipv6_dstopt_tcp', 0],
  ['sll2_ipv6_udp', 20],
];

describe('IPv4 header checksum', () => {
  it.each(V4)('%s: computed = on the wire, verifies', (name, off) => {
    const b = golden(name);
    expect(ipv4HeaderChecksum(b, off)).toBe(rd16(b, off + 10));
    expect(verifyIpv4HeaderChecksum(b, off)).toBe(true);
  });
  it.each(V4)('%s: a changed TTL fails, fix restores', (name, off) => {
    const b = golden(name);
    const want = rd16(b, off + 10);
    b[off + 8] = b[off + 8]! ^ 0x01;
    expect(verifyIpv4HeaderChecksum(b, off)).toBe(false);
    fixIpv4HeaderChecksum(b, off);
    expect(verifyIpv4HeaderChecksum(b, off)).toBe(true);
    b[off + 8] = b[off + 8]! ^ 0x01;
    expect(fixIpv4HeaderChecksum(b, off)).toBe(want);
  });
});

describe('TCP/UDP checksum with pseudo-header', () => {
  it.each(L4)('%s: computed = on the wire, verifies', (name, off) => {
    const b = golden(name);
    const info = l4ChecksumInfo(b, off);
    expect(l4Checksum(b, off)).toBe(rd16(b, info.checksumOffset));
    expect(verifyL4Checksum(b, off)).toBe(true);
  });
  it('UDP checksum 0 over IPv4 means "none" and verifies', () => {
    const b = golden('raw_ipv4_opts_udp0');
    expect(verifyL4Checksum(b, 0)).toBe(true);
    const c = fixL4Checksum(b, 0);
    expect(c).not.toBe(0);
    expect(verifyL4Checksum(b, 0)).toBe(true);
  });
  it('UDP checksum 0 over IPv6 is invalid', () => {
    const b = golden('eth_qinq_ipv6_udp');
    b[62 + 6] = 0;
    b[62 + 7] = 0;
    expect(verifyL4Checksum(b, 22)).toBe(false);
  });
  it('a UDP sum of zero is sent as 0xffff', () => {
    // IPv4 UDP: find a payload word that makes the computed checksum 0 and check it becomes 0xffff
    const b = golden('raw_ipv4_opts_udp0');
    b[32] = 0;
    b[33] = 0;
    const c = l4Checksum(b, 0); // = ~S for the sum S with this payload word at 0
    const w = c; // with the word set to ~S the sum becomes S + ~S = 0xffff, whose complement is 0
    b[32] = w >> 8;
    b[33] = w & 0xff;
    expect(l4Checksum(b, 0)).toBe(0xffff);
    fixL4Checksum(b, 0);
    expect(verifyL4Checksum(b, 0)).toBe(true);
  });
  it('refuses fragments, cut captures and other protocols', () => {
    expect(() => l4ChecksumInfo(golden('eth_ipv6_hbh_frag_tcp'), 14)).toThrow(expect.objectContaining({ reason: 'unsupported' }));
    expect(() => l4ChecksumInfo(golden('eth_ipv4_frag2'), 14)).toThrow(expect.objectContaining({ reason: 'unsupported' }));
    expect(() => l4ChecksumInfo(golden('eth_ipv4_tcp_syn').subarray(0, 60), 14)).toThrow(expect.objectContaining({ reason: 'truncated' }));
    const icmp = golden('raw_ipv4_opts_udp0');
    icmp[9] = 1;
    expect(() => l4ChecksumInfo(icmp, 0)).toThrow(expect.objectContaining({ reason: 'unsupported' }));
  });
  it('fix makes verify pass on random packets, and any later byte change is detected', () => {
    fc.assert(
      fc.property(packetArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (p, at, delta) => {
        const b = p.bytes;
        fixIpPacketChecksums(b, p.ipOffset);
        if (!p.v6) expect(verifyIpv4HeaderChecksum(b, p.ipOffset)).toBe(true);
        expect(verifyL4Checksum(b, p.ipOffset)).toBe(true);
        // change one byte of the L4 header or payload (not the checksum field itself)
        const info = l4ChecksumInfo(b, p.ipOffset);
        let i = info.l4Offset + (at % info.l4Length);
        if (i === info.checksumOffset || i === info.checksumOffset + 1) i = info.l4Offset;
        if (p.protocol === 17 && (i === info.l4Offset + 4 || i === info.l4Offset + 5)) i = info.l4Offset; // keep UDP length valid
        b[i] = (b[i]! + delta) & 0xff;
        expect(verifyL4Checksum(b, p.ipOffset)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('incremental update (RFC 1624)', () => {
  it('matches the RFC 1624 §4 example (0xDD2F, 0x5555 -> 0x3285 gives 0x0000)', () => {
    expect(incrementalChecksum16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it('equals a full recompute for any 16-bit change in an IPv4 header', () => {
    fc.assert(
      fc.property(packetArb.filter((p) => !p.v6), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (p, w, value) => {
        const b = p.bytes;
        const off = p.ipOffset;
        fixIpv4HeaderChecksum(b, off);
        const hl = (b[off]! & 15) * 4;
        let field = off + 2 * (w % (hl / 2));
        if (field === off + 10) field = off + 8; // not the checksum itself
        if (field === off) value = (value & 0x00ff) | (b[off]! << 8); // keep version/IHL
        const old = rd16(b, field);
        const hc = rd16(b, off + 10);
        b[field] = value >> 8;
        b[field + 1] = value & 0xff;
        expect(incrementalChecksum16(hc, old, value)).toBe(ipv4HeaderChecksum(b, off));
      }),
      { numRuns: 3000 },
    );
  });

  it('rewrite16 on a TCP/UDP port keeps the L4 checksum valid and equal to a full recompute', () => {
    fc.assert(
      fc.property(packetArb, fc.integer({ min: 0, max: 0xffff }), fc.boolean(), (p, port, src) => {
        const b = p.bytes;
        fixIpPacketChecksums(b, p.ipOffset);
        const info = l4ChecksumInfo(b, p.ipOffset);
        rewrite16(b, info.l4Offset + (src ? 0 : 2), port, info.checksumOffset, p.protocol === 17);
        expect(verifyL4Checksum(b, p.ipOffset)).toBe(true);
        const c = rd16(b, info.checksumOffset);
        const full = l4Checksum(b, p.ipOffset);
        // exact, including UDP's "0 is sent as 0xffff" (the pseudo-header's non-zero protocol rules out -0 for TCP)
        expect(c).toBe(full);
      }),
      { numRuns: 2000 },
    );
  });

  it('incrementalChecksum32 equals a full recompute when an IPv4 address changes', () => {
    fc.assert(
      fc.property(packetArb.filter((p) => !p.v6), fc.integer({ min: 0, max: 0xffffffff }), (p, addr) => {
        const b = p.bytes;
        const off = p.ipOffset;
        fixIpv4HeaderChecksum(b, off);
        const old = ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
        const hc = rd16(b, off + 10);
        b[off + 12] = addr >>> 24;
        b[off + 13] = (addr >>> 16) & 255;
        b[off + 14] = (addr >>> 8) & 255;
        b[off + 15] = addr & 255;
        expect(incrementalChecksum32(hc, old, addr)).toBe(ipv4HeaderChecksum(b, off));
      }),
      { numRuns: 2000 },
    );
  });
});
