import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, newIpv4View, parseIpv4, parseIpv4Address } from '../../src/protocols/ipv4.js';
import { golden, hex, onlyParseError, type GoldenName } from './packet.helpers.js';

describe('parseIpv4', () => {
  // expected values: the parameters given to the independent generator (see packet.helpers.ts), checksums as tshark shows them
  const cases: Array<{ name: GoldenName; off: number; want: Partial<ReturnType<typeof newIpv4View>> }> = [
    {
      name: 'eth_ipv4_tcp_syn',
      off: 14,
      want: {
        headerLength: 20, totalLength: 60, id: 0xabcd, flags: 2, fragmentOffset: 0, isFragment: false, ttl: 64, protocol: 6,
        checksum: 0xc33a, src: 0xc0a8010a, dst: 0x0a000002, payloadOffset: 34, payloadLength: 40, truncated: false,
      },
    },
    {
      name: 'raw_ipv4_opts_udp0',
      off: 0,
      want: { headerLength: 24, totalLength: 36, id: 1, ttl: 64, protocol: 17, checksum: 0x27b4, src: 0x01020304, dst: 0x05060708, payloadOffset: 24, payloadLength: 12 },
    },
    {
      name: 'eth_ipv4_frag2',
      off: 14,
      want: { totalLength: 44, id: 99, flags: 0, fragmentOffset: 1480, isFragment: true, protocol: 17, payloadLength: 24 },
    },
    { name: 'eth_vlan_ipv4_udp', off: 18, want: { ttl: 63, id: 7, src: 0x0a4e0101, dst: 0x0a4e0201, totalLength: 33, checksum: 0x2428 } },
  ];
  it.each(cases)('$name', ({ name, off, want }) => {
    const v = newIpv4View();
    parseIpv4(golden(name), off, v);
    expect(v).toMatchObject({ offset: off, ...want });
  });

  it('flags a snap-length cut packet as truncated instead of failing', () => {
    const v = newIpv4View();
    parseIpv4(golden('eth_ipv4_tcp_syn').subarray(0, 40), 14, v);
    expect(v.truncated).toBe(true);
    expect(v.totalLength).toBe(60);
  });

  it('ignores Ethernet padding after Total Length', () => {
    const b = new Uint8Array(80);
    b.set(golden('raw_ipv4_opts_udp0'));
    const v = newIpv4View();
    parseIpv4(b, 0, v);
    expect([v.truncated, v.totalLength]).toEqual([false, 36]);
  });

  const bad = [
    { what: 'version 5', bytes: '55000024000140004011000001020304050607080000', reason: 'bad-version' },
    { what: 'IHL 4', bytes: '44000024000140004011000001020304050607080000', reason: 'bad-length' },
    { what: 'Total Length below header', bytes: '45000013000140004011000001020304050607080000', reason: 'bad-length' },
    { what: 'IHL 15 in 22 bytes', bytes: '4f000024000140004011000001020304050607080000', reason: 'truncated' },
    { what: '19 bytes', bytes: '45000024000140004011000001020304050607', reason: 'truncated' },
  ];
  it.each(bad)('rejects $what ($reason)', ({ bytes, reason }) => {
    expect(() => parseIpv4(hex(bytes), 0, newIpv4View())).toThrow(expect.objectContaining({ name: 'ParseError', reason }));
  });

  it('throws only ParseError on random and mutated headers', () => {
    const v = newIpv4View();
    const base = golden('raw_ipv4_opts_udp0');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.tuple(fc.array(fc.tuple(fc.nat(35), fc.nat(255)), { maxLength: 4 }), fc.nat(36)).map(([flips, cut]) => {
            const b = Uint8Array.from(base);
            for (const [i, x] of flips) b[i] = x;
            return b.subarray(0, cut);
          }),
        ),
        (b) => {
          if (!onlyParseError(() => parseIpv4(b, 0, v))) {
            expect(v.payloadOffset).toBeLessThanOrEqual(b.length);
            expect(v.truncated).toBe(v.totalLength > b.length);
          }
        },
      ),
      { numRuns: 4000 },
    );
  });
});

describe('IPv4 address text (cold path)', () => {
  it.each([
    ['10.78.1.1', 0x0a4e0101],
    ['255.255.255.255', 0xffffffff],
    ['0.0.0.0', 0],
  ] as const)('%s', (s, n) => {
    expect(parseIpv4Address(s)).toBe(n);
    expect(formatIpv4(n)).toBe(s);
  });
  it('rejects non-addresses', () => {
    for (const s of ['256.1.1.1', '1.2.3', 'a.b.c.d', '1.2.3.4.5']) expect(parseIpv4Address(s)).toBeUndefined();
  });
  it('round-trips any uint32', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => parseIpv4Address(formatIpv4(n)) === n), { numRuns: 1000 });
  });
});
