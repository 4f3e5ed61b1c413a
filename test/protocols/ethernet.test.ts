import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/protocols/errors.js';
import { formatMac, newEthernetView, parseEthernet } from '../../src/protocols/ethernet.js';
import { golden, hex, onlyParseError, type GoldenName } from './packet.helpers.js';

describe('parseEthernet', () => {
  const cases: Array<{ name: GoldenName; etherType: number; payloadOffset: number; vlanCount: number; vlanId: number }> = [
    { name: 'eth_ipv4_tcp_syn', etherType: 0x0800, payloadOffset: 14, vlanCount: 0, vlanId: -1 },
    { name: 'eth_vlan_ipv4_udp', etherType: 0x0800, payloadOffset: 18, vlanCount: 1, vlanId: 100 }, // TCI 0x2064: PCP 1, VID 100
    { name: 'eth_qinq_ipv6_udp', etherType: 0x86dd, payloadOffset: 22, vlanCount: 2, vlanId: 100 },
    { name: 'eth_arp', etherType: 0x0806, payloadOffset: 14, vlanCount: 0, vlanId: -1 },
  ];
  it.each(cases)('$name', ({ name, ...want }) => {
    const v = newEthernetView();
    parseEthernet(golden(name), 0, v);
    expect(v).toEqual(want);
  });

  it('reads MAC addresses (cold path)', () => {
    const b = golden('eth_ipv4_tcp_syn');
    expect(formatMac(b, 0)).toBe('02:00:00:00:00:02');
    expect(formatMac(b, 6)).toBe('02:00:00:00:00:01');
  });

  const bad: Array<{ what: string; bytes: string; reason: string }> = [
    { what: 'shorter than 14 bytes', bytes: '020000000002020000000001080', reason: 'truncated' },
    { what: 'VLAN tag without inner type', bytes: '0200000000020200000000018100 0064', reason: 'truncated' },
    { what: 'three VLAN tags', bytes: '020000000002020000000001 88a8 0001 8100 0002 8100 0003 0800 45', reason: 'unsupported' },
  ];
  it.each(bad)('rejects $what with $reason', ({ bytes, reason }) => {
    expect(() => parseEthernet(hex(bytes), 0, newEthernetView())).toThrow(expect.objectContaining({ reason }));
  });

  it('throws only ParseError on random bytes', () => {
    const v = newEthernetView();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        if (!onlyParseError(() => parseEthernet(b, 0, v))) expect(v.payloadOffset).toBeLessThanOrEqual(b.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('error class is ParseError', () => {
    expect(() => parseEthernet(new Uint8Array(3), 0, newEthernetView())).toThrow(ParseError);
  });
});
