import { describe, expect, it } from 'vitest';
import { bpfFilterFor, networkAddress, subnetMatcher } from '../../src/daemon/subnets.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { udpPacket } from '../helpers/packets.js';

describe('client subnets (NAT support)', () => {
  it('the eth tap filter also admits the AP own addresses; the wlan one only the clients', () => {
    expect(bpfFilterFor([])).toBe('(ip or ip6)');
    expect(bpfFilterFor(['10.2.0.0/24'])).toBe('(ip or ip6) and (dst net 10.2.0.0/24)');
    expect(bpfFilterFor(['10.2.0.0/24'], ['192.0.2.2', '2001:db8::2'])).toBe(
      '(ip or ip6) and (dst net 10.2.0.0/24 or dst host 192.0.2.2 or dst host 2001:db8::2)',
    );
  });

  it.each([
    ['10.2.0.1', ['10.2.0.0/24'], true],
    ['10.2.1.1', ['10.2.0.0/24'], false],
    ['192.0.2.2', ['10.2.0.0/24', 'fd00::/64'], false],
    ['192.0.2.2', ['192.0.2.0/30'], true],
    ['192.0.2.2', ['192.0.2.0/31'], false],
    ['10.9.9.9', ['0.0.0.0/0'], true],
    ['10.2.0.1', ['bogus', '10.2.0.1/32'], true],
  ] as const)('dst %s in %j: %s', (dst, subnets, want) => {
    const v = newPacketView();
    decodePacket(udpPacket({ addr: '10.1.0.1', port: 1 }, { addr: dst, port: 2 }, Uint8Array.of(1)), 'raw-ip', v);
    expect(subnetMatcher(subnets)(v)).toBe(want);
  });

  it('matches IPv6 prefixes word by word', () => {
    const v = newPacketView();
    v.l3 = 'ipv6';
    v.dst0 = 0xfd000000;
    v.dst1 = 0;
    v.dst2 = 0x12345678;
    v.dst3 = 1;
    expect(subnetMatcher(['fd00::/64'])(v)).toBe(true);
    expect(subnetMatcher(['fd00::/96'])(v)).toBe(false);
    expect(subnetMatcher(['fd00:0:0:0:1234::/80'])(v)).toBe(true);
    expect(subnetMatcher(['10.0.0.0/8'])(v)).toBe(false);
  });
});

describe('networkAddress: host bits cleared (libpcap refuses "net fd00:1:3::1/64": non-network bits set)', () => {
  it.each([
    ['192.168.1.17', 24, false, '192.168.1.0'],
    ['10.0.0.1', 8, false, '10.0.0.0'],
    ['fd00:62:3::1', 64, true, 'fd00:62:3::'],
    ['2001:db8:abcd:12:34::1', 48, true, '2001:db8:abcd::'],
    ['2001:db8:abcd:12:34::1', 60, true, '2001:db8:abcd:10::'],
    ['fe80::1', 10, true, 'fe80::'],
    ['2001:db8::1', 128, true, '2001:db8::1'],
    ['2001:db8::1', 0, true, '::'],
  ])('%s/%i -> %s', (addr, len, v6, expected) => {
    expect(networkAddress(addr, len, v6)).toBe(expected);
  });
});
