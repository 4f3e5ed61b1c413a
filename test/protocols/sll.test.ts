import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newSllView, parseSll, parseSll2, sllPacketTypeName } from '../../src/protocols/sll.js';
import { golden, hex, onlyParseError } from './packet.helpers.js';

describe('SLL v1 (DLT 113)', () => {
  it('decodes an outgoing IPv4 frame (tshark: sll.pkttype 4)', () => {
    const v = newSllView();
    parseSll(golden('sll_ipv4_tcp_ack'), 0, v);
    expect(v).toEqual({ packetType: 4, arphrdType: 1, protocol: 0x0800, ifIndex: 0, addrOffset: 6, addrLength: 6, payloadOffset: 16, vlanCount: 0 });
    expect(sllPacketTypeName(v.packetType)).toBe('outgoing');
  });

  it('skips a VLAN tag following the cooked header', () => {
    // packet type 0 (host), ARPHRD 1, addr len 6, addr, protocol 0x8100 | TCI 0x0005, type 0x86dd | 60...
    const b = hex('0000 0001 0006 0200000000010000 8100 0005 86dd 60000000');
    const v = newSllView();
    parseSll(b, 0, v);
    expect([v.protocol, v.vlanCount, v.payloadOffset, v.packetType]).toEqual([0x86dd, 1, 20, 0]);
  });

  it('rejects a 15-byte header', () => {
    expect(() => parseSll(new Uint8Array(15), 0, newSllView())).toThrow(expect.objectContaining({ reason: 'truncated' }));
  });
});

describe('SLL v2 (DLT 276)', () => {
  it('decodes an IPv6 frame with interface index (tshark: sll.ifindex 7, pkttype 0)', () => {
    const v = newSllView();
    parseSll2(golden('sll2_ipv6_udp'), 0, v);
    expect(v).toEqual({ packetType: 0, arphrdType: 1, protocol: 0x86dd, ifIndex: 7, addrOffset: 12, addrLength: 6, payloadOffset: 20, vlanCount: 0 });
    expect(sllPacketTypeName(v.packetType)).toBe('host');
  });

  it('rejects a 19-byte header', () => {
    expect(() => parseSll2(new Uint8Array(19), 0, newSllView())).toThrow(expect.objectContaining({ reason: 'truncated' }));
  });
});

describe('packet type names', () => {
  it.each([
    [0, 'host'],
    [1, 'broadcast'],
    [2, 'multicast'],
    [3, 'otherhost'],
    [4, 'outgoing'],
    [7, 'other'],
  ] as const)('%i -> %s', (t, name) => expect(sllPacketTypeName(t)).toBe(name));
});

describe('SLL robustness', () => {
  it('throws only ParseError on random bytes (v1 and v2)', () => {
    const v = newSllView();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (b, two) => {
        if (!onlyParseError(() => (two ? parseSll2(b, 0, v) : parseSll(b, 0, v)))) expect(v.payloadOffset).toBeLessThanOrEqual(b.length);
      }),
      { numRuns: 3000 },
    );
  });
});
