import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { BridgeMark } from '../../src/daemon/bridge-mark.js';
import { bridgeNfCalls, bridgeOf, wifiAttachment } from '../../src/daemon/bridge-port.js';
import { interceptionPlanFrom } from '../../src/daemon/rule-spec.js';
import { IptablesRules } from '../../src/daemon/rules.js';

const cfg = parseConfig('interfaces:\n  eth: eth0\n  wlan: wlan0\n', 'z.yaml');

describe('interceptionPlanFrom: the rules match the clients, per address family', () => {
  it.each([
    [['192.168.1.0/24'], ['192.168.1.0/24'], undefined],
    [['192.168.1.0/24', 'fd00::/64'], ['192.168.1.0/24'], ['fd00::/64']],
    [['fd00::/64', '2001:db8::/64'], undefined, ['fd00::/64', '2001:db8::/64']], // IPv6 only: no IPv4 rule at all
    [[], [], undefined], // no subnet known: every IPv4 source of the Wi-Fi side
  ])('subnets %j -> iptables -s %j, ip6tables -s %j', (subnets, v4, v6) => {
    const plan = interceptionPlanFrom(cfg, subnets);
    expect(plan.v4?.clientSubnets).toEqual(v4);
    expect(plan.v6?.clientSubnets).toEqual(v6);
    expect(plan.bridge).toBeUndefined();
    expect(plan.v4?.wlanIf ?? plan.v6?.wlanIf).toBe('wlan0');
  });

  it('a bridge port: the rules match the bridge and the mark, the mark is set on the Wi-Fi port at INPUT', () => {
    const plan = interceptionPlanFrom(cfg, ['192.168.1.0/24', 'fd00::/64'], { bridge: 'br-lan', ethOnBridge: false });
    expect(plan.bridge).toEqual({ port: 'wlan0', mark: 0x10000000, hooks: ['INPUT'] });
    for (const spec of [plan.v4, plan.v6]) {
      expect(spec?.wlanIf).toBe('br-lan');
      expect(spec?.mark).toBe(0x10000000);
    }
    const line = new IptablesRules().ruleLines(plan.v4!)[0];
    expect(line).toBe('-A ZHUGE -i br-lan -p tcp -m mark --mark 0x10000000/0x10000000 -s 192.168.1.0/24 -j NFQUEUE --queue-num 7000 --queue-bypass');
    expect(new BridgeMark('ZHUGE').ruleArgs(plan.bridge!).join(' ')).toBe('-A ZHUGE -i wlan0 -j mark --mark-or 0x10000000 --mark-target CONTINUE');
  });

  it('a bridged AP (eth on the same bridge) needs bridge netfilter, and marks at FORWARD too', () => {
    const at = { bridge: 'br-lan', ethOnBridge: true };
    expect(() => interceptionPlanFrom(cfg, ['192.168.1.0/24'], at)).toThrow(/same bridge br-lan.*not loaded: modprobe br_netfilter; sysctl -w net.bridge.bridge-nf-call-iptables=1/);
    expect(() => interceptionPlanFrom(cfg, ['192.168.1.0/24'], { ...at, nfCallIptables: false })).toThrow(/which is off/);
    expect(() => interceptionPlanFrom(cfg, ['fd00::/64'], { ...at, nfCallIptables: true })).toThrow(/bridge-nf-call-ip6tables=1/);
    expect(interceptionPlanFrom(cfg, ['192.168.1.0/24'], { ...at, nfCallIptables: true }).bridge?.hooks).toEqual(['INPUT', 'FORWARD']);
  });

  it('the mark comes from nfqueue.bridgeMark', () => {
    const c = parseConfig('interfaces:\n  eth: eth0\n  wlan: wlan0\nnfqueue:\n  bridgeMark: 0x40\n', 'z.yaml');
    expect(interceptionPlanFrom(c, [], { bridge: 'br0' }).v4?.mark).toBe(0x40);
  });
});

describe('bridge-port: sysfs and procfs readings', () => {
  const root = mkdtempSync(join(tmpdir(), 'zhuge-sys-'));
  const sys = join(root, 'class/net');
  for (const d of ['br-lan', 'wlan0', 'eth0', 'lan1', 'bond0', 'wlan1']) mkdirSync(join(sys, d), { recursive: true });
  mkdirSync(join(sys, 'wlan0/brport'));
  symlinkSync('../br-lan', join(sys, 'wlan0/master'));
  mkdirSync(join(sys, 'lan1/brport'));
  symlinkSync('../br-lan', join(sys, 'lan1/master'));
  symlinkSync('../bond0', join(sys, 'wlan1/master')); // a bond's slave: a master, no brport
  const proc = join(root, 'bridge');
  mkdirSync(proc);
  writeFileSync(join(proc, 'bridge-nf-call-iptables'), '1\n');
  writeFileSync(join(proc, 'bridge-nf-call-ip6tables'), '0\n');

  it.each([
    ['wlan0', 'br-lan'],
    ['eth0', undefined],
    ['wlan1', undefined],
    ['nope', undefined],
    ['../x', undefined],
  ])('bridgeOf(%s) = %s', (dev, bridge) => {
    expect(bridgeOf(dev, sys)).toBe(bridge);
  });

  it('bridge-nf-call-* read, absent without br_netfilter', () => {
    expect(bridgeNfCalls(4, proc)).toBe(true);
    expect(bridgeNfCalls(6, proc)).toBe(false);
    expect(bridgeNfCalls(4, join(root, 'none'))).toBeUndefined();
  });

  it.each([
    ['eth0', { bridge: 'br-lan', ethOnBridge: false, nfCallIptables: true, nfCallIp6tables: false }],
    ['lan1', { bridge: 'br-lan', ethOnBridge: true, nfCallIptables: true, nfCallIp6tables: false }],
  ])('wifiAttachment with eth %s', (eth, expected) => {
    const c = parseConfig(`interfaces:\n  eth: ${eth}\n  wlan: wlan0\n`, 'z.yaml');
    expect(wifiAttachment(c, sys, proc)).toEqual(expected);
    expect(wifiAttachment(parseConfig(`interfaces:\n  eth: ${eth}\n  wlan: bond0\n`, 'z.yaml'), sys, proc)).toEqual({});
  });
});
