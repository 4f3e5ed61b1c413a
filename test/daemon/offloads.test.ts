import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasIptablesFlowOffload, maxFrameBytes, offloadAdvice, parseEthtoolFeatures, parseNftFlowtableDevices } from '../../src/daemon/offloads.js';

// `ethtool -k` of a fresh veth on Debian 12 (ethtool 6.1), abridged
const ETHTOOL_VETH = `Features for zgtst0:
rx-checksumming: on
tx-checksumming: on
tcp-segmentation-offload: on
	tx-tcp-segmentation: on
	tx-tcp-ecn-segmentation: on
generic-segmentation-offload: on
generic-receive-offload: off
large-receive-offload: off [fixed]
rx-vlan-offload: on
`;

// OpenWrt 23.05 fw4 with flow_offloading=1 (`nft list flowtables`)
const NFT_FW4 = `table inet fw4 {
	flowtable ft {
		hook ingress priority filter
		devices = { br-lan, eth1 }
		counter
	}
}
`;

describe('offloads: what hides packets from the taps and the queue', () => {
  it('ethtool -k: the four features, [fixed] read as its value', () => {
    expect(parseEthtoolFeatures(ETHTOOL_VETH)).toEqual({ tso: true, gso: true, gro: false, lro: false });
    expect(parseEthtoolFeatures('Cannot get device feature names: No such device\n')).toEqual({});
  });

  it.each([
    [NFT_FW4, ['br-lan', 'eth1']],
    ['table inet fw4 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { "lan1", "wan" }\n\t}\n}\n', ['lan1', 'wan']],
    ['', []],
  ])('nft flowtables -> devices %#', (text, devices) => {
    expect(parseNftFlowtableDevices(text)).toEqual(devices);
  });

  it('fw3 flow offloading: the FLOWOFFLOAD target in iptables-save', () => {
    const fw3 = '*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m comment --comment "!fw3: Traffic offloading" -m conntrack --ctstate RELATED,ESTABLISHED -j FLOWOFFLOAD\nCOMMIT\n';
    expect(hasIptablesFlowOffload(fw3)).toBe(true);
    expect(hasIptablesFlowOffload('*filter\n-A FORWARD -j ZHUGE\n# FLOWOFFLOAD in a comment\nCOMMIT\n')).toBe(false);
  });

  it('advice names the interface, the features and the command; nothing when all is off', () => {
    const adv = offloadAdvice({ devices: { wlan0: { gro: true, gso: false, tso: true }, eth0: { gro: false } }, flowOffload: true, flowOffloadHow: 'an nftables flowtable on br-lan' });
    expect(adv).toHaveLength(2);
    expect(adv[0]).toMatch(/^GRO\/TSO on wlan0: .*ethtool -K wlan0 gro off tso off$/);
    expect(adv[1]).toMatch(/flow offloading is on \(an nftables flowtable on br-lan\).*flow_offloading=0/);
    expect(offloadAdvice({ devices: { wlan0: { gro: false } }, flowOffload: false })).toEqual([]);
  });

  it('the largest frame a tap should see: MTU + 18, or no limit when unknown', () => {
    const sys = mkdtempSync(join(tmpdir(), 'zhuge-mtu-'));
    mkdirSync(join(sys, 'wlan0'));
    writeFileSync(join(sys, 'wlan0/mtu'), '1500\n');
    expect(maxFrameBytes('wlan0', sys)).toBe(1518);
    expect(maxFrameBytes('nope', sys)).toBe(65_535);
  });
});
