import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newUdpView, parseUdp } from '../../src/protocols/udp.js';
import { golden, hex, onlyParseError, type GoldenName } from './packet.helpers.js';

describe('parseUdp', () => {
  const cases: Array<{ name: GoldenName; off: number; room: number; want: ReturnType<typeof newUdpView> }> = [
    { name: 'eth_vlan_ipv4_udp', off: 38, room: 13, want: { offset: 38, srcPort: 5004, dstPort: 6000, length: 13, checksum: 0x7968, payloadOffset: 46, payloadLength: 5 } },
    { name: 'eth_qinq_ipv6_udp', off: 62, room: 11, want: { offset: 62, srcPort: 53, dstPort: 33333, length: 11, checksum: 0x1ff7, payloadOffset: 70, payloadLength: 3 } },
    { name: 'raw_ipv4_opts_udp0', off: 24, room: 12, want: { offset: 24, srcPort: 1234, dstPort: 5678, length: 12, checksum: 0, payloadOffset: 32, payloadLength: 4 } },
  ];
  it.each(cases)('$name', ({ name, off, room, want }) => {
    const v = newUdpView();
    parseUdp(golden(name), off, room, v);
    expect(v).toEqual(want);
  });

  it('accepts IP payload longer than the UDP length (trailing bytes ignored)', () => {
    const v = newUdpView();
    parseUdp(hex('0001 0002 0009 0000 aa bb bb'), 0, 11, v);
    expect(v.payloadLength).toBe(1);
  });

  const bad = [
    { what: 'length 7', bytes: '0001 0002 0007 0000', room: 8, reason: 'bad-length' },
    { what: 'length beyond the IP payload', bytes: '0001 0002 000a 0000 0000', room: 9, reason: 'bad-length' },
    { what: 'length 0 (jumbogram)', bytes: '0001 0002 0000 0000', room: 8, reason: 'unsupported' },
    { what: '7 bytes', bytes: '0001 0002 0008 00', room: 8, reason: 'truncated' },
  ];
  it.each(bad)('rejects $what ($reason)', ({ bytes, room, reason }) => {
    expect(() => parseUdp(hex(bytes), 0, room, newUdpView())).toThrow(expect.objectContaining({ name: 'ParseError', reason }));
  });

  it('throws only ParseError on random headers', () => {
    const v = newUdpView();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), fc.nat(40), (b, room) => {
        if (!onlyParseError(() => parseUdp(b, 0, room, v))) expect(v.length).toBeLessThanOrEqual(room);
      }),
      { numRuns: 3000 },
    );
  });
});
