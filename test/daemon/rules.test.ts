import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IptablesRules, RulesError, type RuleSpec } from '../../src/daemon/rules.js';
import { teardownPrefix, uniquePrefix } from '../../bench/nfqueue-lab.js';

const isRoot = process.getuid?.() === 0;

describe('IptablesRules.ruleLines (pure)', () => {
  const r = new IptablesRules({ chainPrefix: 'ZT', instanceId: 'x1' });
  it.each<[string, RuleSpec, string[]]>([
    [
      'defaults: tcp and udp, bypass',
      { queueNum: 3, wlanIf: 'wlan0' },
      [
        '-A ZT_x1 -i wlan0 -p tcp -j NFQUEUE --queue-num 3 --queue-bypass',
        '-A ZT_x1 -i wlan0 -p udp -j NFQUEUE --queue-num 3 --queue-bypass',
      ],
    ],
    [
      'udp, ports, two subnets, no bypass',
      { queueNum: 0, wlanIf: 'br-lan', protocols: ['udp'], ports: [443, 3478], clientSubnets: ['10.0.0.0/24', '10.1.0.0/16'], bypass: false },
      [
        '-A ZT_x1 -i br-lan -p udp -s 10.0.0.0/24 -m multiport --ports 443,3478 -j NFQUEUE --queue-num 0',
        '-A ZT_x1 -i br-lan -p udp -s 10.1.0.0/16 -m multiport --ports 443,3478 -j NFQUEUE --queue-num 0',
      ],
    ],
    [
      'per-protocol ports: TCP on its treated ports, every UDP port (RTP)',
      { queueNum: 2, wlanIf: 'wlan0', ports: [9], protocolPorts: { tcp: [5201, 443], udp: [] } },
      [
        '-A ZT_x1 -i wlan0 -p tcp -m multiport --ports 5201,443 -j NFQUEUE --queue-num 2 --queue-bypass',
        '-A ZT_x1 -i wlan0 -p udp -j NFQUEUE --queue-num 2 --queue-bypass',
      ],
    ],
    [
      'dscp',
      { queueNum: 9, wlanIf: 'wl1', protocols: ['tcp'], dscp: [46, 34] },
      [
        '-A ZT_x1 -i wl1 -p tcp -m dscp --dscp 46 -j NFQUEUE --queue-num 9 --queue-bypass',
        '-A ZT_x1 -i wl1 -p tcp -m dscp --dscp 34 -j NFQUEUE --queue-num 9 --queue-bypass',
      ],
    ],
  ])('%s', (_n, spec, lines) => {
    expect(r.ruleLines(spec)).toEqual(lines);
  });

  it.each<[string, RuleSpec]>([
    ['queue out of range', { queueNum: 70000, wlanIf: 'wlan0' }],
    ['bad interface', { queueNum: 1, wlanIf: 'wlan0; rm -rf /' }],
    ['bad port', { queueNum: 1, wlanIf: 'wlan0', ports: [0] }],
    ['too many ports', { queueNum: 1, wlanIf: 'wlan0', ports: Array.from({ length: 16 }, (_, i) => i + 1) }],
    ['bad subnet', { queueNum: 1, wlanIf: 'wlan0', clientSubnets: ['10.0.0.0/24 -j ACCEPT'] }],
    ['bad dscp', { queueNum: 1, wlanIf: 'wlan0', dscp: [64] }],
    ['bad per-protocol port', { queueNum: 1, wlanIf: 'wlan0', protocolPorts: { udp: [70000] } }],
    ['empty protocols', { queueNum: 1, wlanIf: 'wlan0', protocols: [] }],
  ])('rejects %s', (_n, spec) => {
    expect(() => r.ruleLines(spec)).toThrow(RulesError);
  });

  it('chain names: prefix, instance id, validation', () => {
    expect(new IptablesRules().chain).toBe('ZHUGE');
    expect(new IptablesRules({ instanceId: 'demo' }).chain).toBe('ZHUGE_demo');
    expect(() => new IptablesRules({ instanceId: 'a b' })).toThrow(RulesError);
    expect(() => new IptablesRules({ chainPrefix: 'X'.repeat(29) })).toThrow(RulesError);
    expect(() => new IptablesRules({ netns: 'x;y' })).toThrow(RulesError);
  });

  it('removeCommand: flush first, then jumps, then the chain, inside the netns', () => {
    const cmds = new IptablesRules({ chainPrefix: 'ZT', instanceId: 'x1', netns: 'lab-f', lockWaitS: 2 }).removeCommand();
    expect(cmds).toHaveLength(3);
    expect(cmds[0]).toBe('ip netns exec lab-f iptables -w 2 -F ZT_x1 2>/dev/null || true');
    expect(cmds[1]).toContain('ip netns exec lab-f iptables -w 2 -D FORWARD -j ZT_x1');
    expect(cmds[2]).toBe('ip netns exec lab-f iptables -w 2 -X ZT_x1 2>/dev/null || true');
  });
});

describe.skipIf(!isRoot)('IptablesRules in a network namespace (needs root and netns)', () => {
  const prefix = uniquePrefix('zrl');
  const ns = `${prefix}-r`;
  const spec: RuleSpec = { queueNum: 5, wlanIf: 'wlan9', protocols: ['udp', 'tcp'], ports: [5000] };
  const save = (): string => execFileSync('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'filter'], { encoding: 'utf8' });
  const ipt = (...a: string[]): void => {
    execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-w', ...a], { stdio: 'ignore' });
  };

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
  });
  afterAll(() => teardownPrefix(prefix));

  it('install → isInstalled; twice keeps one jump at the start of FORWARD; remove is idempotent', async () => {
    const r = new IptablesRules({ chainPrefix: 'ZRT', instanceId: 'a', netns: ns });
    ipt('-A', 'FORWARD', '-j', 'ACCEPT'); // someone else's rule: our jump must go before it
    expect(await r.isInstalled()).toBe(false);
    await r.install(spec);
    await r.install(spec);
    expect(await r.isInstalled()).toBe(true);
    const s = save();
    expect(s.match(/-A FORWARD -j ZRT_a/g)).toHaveLength(1);
    expect(s.indexOf('-A FORWARD -j ZRT_a')).toBeLessThan(s.indexOf('-A FORWARD -j ACCEPT'));
    expect(s).toContain('-A ZRT_a -i wlan9 -p udp -m multiport --ports 5000 -j NFQUEUE --queue-num 5 --queue-bypass');
    expect(s).toContain('-A ZRT_a -i wlan9 -p tcp -m multiport --ports 5000 -j NFQUEUE --queue-num 5 --queue-bypass');
    await r.remove();
    await r.remove();
    expect(await r.isInstalled()).toBe(false);
    expect(save()).not.toContain('ZRT_a');
    expect(save()).toContain('-A FORWARD -j ACCEPT');
  });

  it('reinstalling with another spec replaces the chain content', async () => {
    const r = new IptablesRules({ chainPrefix: 'ZRT', instanceId: 'b', netns: ns });
    await r.install(spec);
    await r.install({ queueNum: 6, wlanIf: 'wlan8', protocols: ['udp'] });
    const lines = save().split('\n').filter((l) => l.startsWith('-A ZRT_b '));
    expect(lines).toEqual(['-A ZRT_b -i wlan8 -p udp -j NFQUEUE --queue-num 6 --queue-bypass']);
    await r.remove();
  });

  it('remove tolerates partial state and leaves other instances alone', async () => {
    const mine = new IptablesRules({ chainPrefix: 'ZRT', instanceId: 'c', netns: ns });
    const other = new IptablesRules({ chainPrefix: 'ZRT', instanceId: 'd', netns: ns });
    await other.install(spec);
    // chain without jump
    ipt('-N', 'ZRT_c');
    expect(await mine.isInstalled()).toBe(false);
    expect(await mine.chainExists()).toBe(true);
    await mine.remove();
    expect(await mine.chainExists()).toBe(false);
    // two jumps, empty chain
    ipt('-N', 'ZRT_c');
    ipt('-I', 'FORWARD', '-j', 'ZRT_c');
    ipt('-A', 'FORWARD', '-j', 'ZRT_c');
    expect(await mine.isInstalled()).toBe(false);
    await mine.remove();
    expect(save()).not.toContain('ZRT_c');
    expect(await other.isInstalled()).toBe(true);
    await other.remove();
  });

  it('ipv6: the same chain layout through ip6tables, independent of the IPv4 one', async () => {
    const v4 = new IptablesRules({ chainPrefix: 'ZRT', instanceId: 'f', netns: ns });
    const v6 = new IptablesRules({ chainPrefix: 'ZRT', instanceId: 'f', netns: ns, ipv6: true });
    await v6.install({ ...spec, clientSubnets: ['fd00:1::/64'] });
    expect(await v6.isInstalled()).toBe(true);
    expect(await v4.isInstalled()).toBe(false);
    const s6 = execFileSync('ip', ['netns', 'exec', ns, 'ip6tables-save', '-t', 'filter'], { encoding: 'utf8' });
    expect(s6).toContain('-A ZRT_f -s fd00:1::/64 -i wlan9 -p udp -m multiport --ports 5000 -j NFQUEUE --queue-num 5 --queue-bypass');
    expect(v6.removeCommand()[0]).toContain('ip6tables -w');
    await v6.remove();
    expect(await v6.chainExists()).toBe(false);
  });

  it('removeCommand lines remove everything when run by /bin/sh', async () => {
    const r = new IptablesRules({ chainPrefix: 'ZRT', instanceId: 'e', netns: ns });
    await r.install(spec);
    ipt('-A', 'FORWARD', '-j', 'ZRT_e');
    execFileSync('/bin/sh', ['-c', r.removeCommand().join('\n')]);
    expect(save()).not.toContain('ZRT_e');
    await r.install(spec);
    r.removeSync();
    expect(save()).not.toContain('ZRT_e');
  });
});

describe('IptablesRules with an iptables-restore that exits without reading its input', () => {
  it('rejects with its exit code and stderr; the EPIPE of the unread input is no uncaught error (it stopped the daemon)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-ipt-'));
    try {
      const ok = join(dir, 'iptables');
      const restore = join(dir, 'iptables-restore');
      writeFileSync(ok, '#!/bin/sh\nexit 0\n');
      // closes its stdin at once, then fails: more input than a pipe holds (64 KiB) cannot be written
      writeFileSync(restore, '#!/bin/sh\nexec 0<&-\necho "failing on purpose (test)" >&2\nsleep 0.2\nexit 4\n');
      chmodSync(ok, 0o755);
      chmodSync(restore, 0o755);
      const r = new IptablesRules({ chainPrefix: 'ZT', instanceId: 'ep', iptables: ok, iptablesRestore: restore });
      const clientSubnets = Array.from({ length: 3000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
      const errors: unknown[] = [];
      const onUncaught = (e: unknown): void => void errors.push(e);
      process.on('uncaughtException', onUncaught);
      try {
        await expect(r.install({ queueNum: 1, wlanIf: 'wlan0', clientSubnets })).rejects.toThrow(/iptables-restore failed \(4\): failing on purpose/);
        await new Promise((res) => setTimeout(res, 300));
      } finally {
        process.off('uncaughtException', onUncaught);
      }
      expect(errors.map(String)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
