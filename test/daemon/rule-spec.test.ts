import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { ruleSpecFrom } from '../../src/daemon/rule-spec.js';

const cfg = parseConfig('interfaces:\n  eth: eth0\n  wlan: wlan0\n', 'z.yaml');

describe('ruleSpecFrom: the rules match the clients', () => {
  it.each([
    [['192.168.1.0/24'], ['192.168.1.0/24']],
    [['192.168.1.0/24', 'fd00::/64'], ['192.168.1.0/24']],
    [[], []], // no subnet known: every source of the Wi-Fi side
  ])('subnets %j -> -s %j', (subnets, expected) => {
    expect(ruleSpecFrom(cfg, subnets).clientSubnets).toEqual(expected);
  });

  it('refuses IPv6-only subnets instead of matching every IPv4 source', () => {
    expect(() => ruleSpecFrom(cfg, ['fd00::/64', '2001:db8::/64'])).toThrow(/all IPv6: uplink interception is IPv4-only/);
  });
});
