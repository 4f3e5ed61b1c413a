import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv6, newIpv6View, parseIpv6, parseIpv6Address } from '../../src/protocols/ipv6.js';
import { golden, hex, onlyParseError, type GoldenName } from './packet.helpers.js';

// 2001:db8::1 and 2001:db8:0:1::2 as 4 words
const A6 = { src0: 0x20010db8, src1: 0, src2: 0, src3: 1 };
const B6 = { dst0: 0x20010db8, dst1: 1, dst2: 0, dst3: 2 };

describe('parseIpv6', () => {
  const cases: Array<{ name: GoldenName; off: number; want: Partial<ReturnType<typeof newIpv6View>> }> = [
    {
      name: 'eth_qinq_ipv6_udp',
      off: 22,
      want: {
        ...A6, ...B6, trafficClass: 0, flowLabel: 0x12345, payloadLength: 11, totalLength: 51, nextHeader: 17, hopLimit: 64,
        protocol: 17, l4Offset: 62, l4Length: 11, extLength: 0, isFragment: false, truncated: false,
      },
    },
    {
      name: 'eth_ipv6_hbh_frag_tcp',
      off: 14,
      want: {
        payloadLength: 56, nextHeader: 0, protocol: 6, l4Offset: 14 + 40 + 16, l4Length: 40, extLength: 16,
        isFragment: true, fragmentOffset: 0, moreFragments: true, fragmentId: 0xdeadbeef,
      },
    },
    { name: 'raw_ipv6_dstopt_tcp', off: 0, want: { nextHeader: 60, protocol: 6, l4Offset: 48, l4Length: 40, extLength: 8, isFragment: false } },
    { name: 'sll2_ipv6_udp', off: 20, want: { src0: 0x20010db8, src1: 1, src3: 2, dst3: 1, hopLimit: 255, protocol: 17, l4Length: 12 } },
  ];
  it.each(cases)('$name', ({ name, off, want }) => {
    const v = newIpv6View();
    parseIpv6(golden(name), off, v);
    expect(v).toMatchObject({ offset: off, ...want });
  });

  const hdr = (nh: number, plen: number): string =>
    `60000000${plen.toString(16).padStart(4, '0')}${nh.toString(16).padStart(2, '0')}40` + '00'.repeat(32);

  it('stops at a non-first fragment: no upper-layer header follows', () => {
    const b = hex(hdr(44, 16) + '11 00 0059 00000007' + '00'.repeat(8)); // offset 11*8=88, M=1
    const v = newIpv6View();
    parseIpv6(b, 0, v);
    expect(v).toMatchObject({ isFragment: true, fragmentOffset: 88, moreFragments: true, fragmentId: 7, protocol: 17, l4Offset: 48, l4Length: 8 });
  });

  it('walks an authentication header ((len + 2) * 4 bytes)', () => {
    const b = hex(hdr(51, 20) + '3b 03 0000 00000001 00000002 00000003' + '00'.repeat(4)); // AH len 3 -> 20 bytes, next 59
    const v = newIpv6View();
    parseIpv6(b, 0, v);
    expect([v.protocol, v.l4Offset, v.l4Length]).toEqual([59, 60, 0]);
  });

  it('flags a cut capture as truncated', () => {
    const v = newIpv6View();
    parseIpv6(golden('raw_ipv6_dstopt_tcp').subarray(0, 70), 0, v);
    expect(v.truncated).toBe(true);
  });

  const bad = [
    { what: 'version 4', bytes: '40000000000011400' + '0'.repeat(63), reason: 'bad-version' },
    { what: '39 bytes', bytes: hdr(17, 0).slice(0, 78), reason: 'truncated' },
    { what: 'jumbogram', bytes: hdr(0, 0) + '11 00 c2 04 00010000', reason: 'unsupported' },
    { what: 'extension header beyond Payload Length', bytes: hdr(60, 8) + '11 01 0000 00000000' + '00'.repeat(8), reason: 'bad-length' },
    { what: 'extension header beyond the buffer', bytes: hdr(60, 16) + '11 01 0000 00000000', reason: 'truncated' },
    { what: 'two fragment headers', bytes: hdr(44, 16) + '2c 00 0001 00000001 11 00 0001 00000001', reason: 'bad-header' },
  ];
  it.each(bad)('rejects $what ($reason)', ({ bytes, reason }) => {
    expect(() => parseIpv6(hex(bytes), 0, newIpv6View())).toThrow(expect.objectContaining({ name: 'ParseError', reason }));
  });

  it('throws only ParseError on random and mutated packets', () => {
    const v = newIpv6View();
    const base = golden('eth_ipv6_hbh_frag_tcp').subarray(14);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 40, maxLength: 90 }).map((b) => {
            b[0] = 0x60;
            return b;
          }),
          fc.tuple(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 4 }), fc.nat(base.length)).map(([flips, cut]) => {
            const b = Uint8Array.from(base);
            for (const [i, x] of flips) b[i] = x;
            return b.subarray(0, cut);
          }),
        ),
        (b) => {
          if (!onlyParseError(() => parseIpv6(b, 0, v))) {
            expect(v.l4Offset).toBeLessThanOrEqual(b.length);
            expect(v.l4Offset - 40).toBeLessThanOrEqual(v.payloadLength);
          }
        },
      ),
      { numRuns: 4000 },
    );
  });
});

describe('IPv6 address text (cold path)', () => {
  it.each([
    ['2001:db8::1', [0x20010db8, 0, 0, 1]],
    ['2001:db8:0:1::2', [0x20010db8, 1, 0, 2]],
    ['::', [0, 0, 0, 0]],
    ['fe80::1:0:0:1', [0xfe800000, 0, 0x00010000, 1]],
    ['1:2:3:4:5:6:7:8', [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
  ] as const)('%s', (s, w) => {
    expect(parseIpv6Address(s)).toEqual(w);
    expect(formatIpv6(w[0], w[1], w[2], w[3])).toBe(s);
  });
  it('round-trips any 128-bit value', () => {
    const word = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(fc.tuple(word, word, word, word), (w) => {
        expect(parseIpv6Address(formatIpv6(...w))).toEqual(w);
      }),
      { numRuns: 1000 },
    );
  });
});
