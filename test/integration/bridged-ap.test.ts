/**
 * The AP as OpenWrt builds it: the Wi-Fi interface a port of a bridge (br-lan) holding the LAN
 * addresses, routed to the WAN, dual stack. Before, zhuge matched `-i <wlan>` in FORWARD, which a
 * bridged uplink never carries (it enters as the bridge): nothing was queued. Now the bridge's
 * filter marks the Wi-Fi port's frames and the rules match the bridge plus the mark, for IPv4
 * (iptables) and IPv6 (ip6tables).
 *
 * The effect asserted is the TCP window clamp's (test/integration/drop-effect.test.ts on the routed
 * AP): a cubic download, 30 -> 3 Mbit/s, without and with zhuge in one run, over IPv4 and over
 * IPv6 through the bridge. The margins are those drop-effect asserts on the routed AP.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Interception } from '../../src/daemon/interception.js';
import { interceptionPlanFrom } from '../../src/daemon/rule-spec.js';
import { DEMO_SCENARIO, runDropTrial, type TrialResult } from '../../testbed/experiment.js';
import { startRelay, type RelayHandle } from '../../testbed/relay.js';
import { distIsFresh } from '../../testbed/scripts.js';
import { randomPrefix, up, type Testbed } from '../../testbed/topology.js';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('bridged Wi-Fi (a port of br-lan), dual stack: the window clamp over IPv4 and IPv6 (needs root and netns)', () => {
  let tb: Testbed | undefined;
  let relay: RelayHandle | undefined;

  beforeAll(async () => {
    if (!distIsFresh('experiment', ['testbed/experiment.ts', 'testbed/topology.ts', 'src/daemon/daemon.ts', 'src/daemon/interception.ts'])) {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    }
    tb = await up({ prefix: randomPrefix(), rateBps: 30e6, bufferMs: 200, bridgedAp: true, ipv6: true });
    relay = await startRelay(tb, { downMs: DEMO_SCENARIO.baseDelayMsEachWay });
  }, 180_000);

  afterAll(async () => {
    await relay?.stop().catch(() => undefined);
    await tb?.down();
  });

  for (const family of ['IPv4', 'IPv6'] as const) {
    it(`${family} through the bridge: cubic 30 -> 3 Mbit/s, without vs window clamp`, async () => {
      if (tb === undefined) throw new Error('no testbed');
      const t = family === 'IPv6' ? tb.ipv6View() : tb;
      const sc = { ...DEMO_SCENARIO, cc: 'cubic', durationS: 14, dropAtS: 6 };
      const without = await runDropTrial(t, sc, false);
      const window = await runDropTrial(t, { ...sc, ackMode: 'window' }, true);
      print(`${family}, bridged AP`, without, window);
      const st = window.raw.daemonStatus as { interception?: { bridge?: string; families?: string[] }; flows?: unknown[] } | undefined;
      // the daemon found the bridge and installed both families' rules
      expect(st?.interception).toEqual({ bridge: tb.d.bridge, families: ['ipv4', 'ipv6'] });
      const a = without.metrics;
      const w = window.metrics;
      // the uplink reached the queue: ACKs clamped (thousands on the routed AP)
      expect(w.zhugeClampedAcks ?? 0).toBeGreaterThan(100);
      expect(w.rttAbove200msSeconds).toBeLessThan(a.rttAbove200msSeconds - 3);
      expect(w.throughputMbps).toBeGreaterThan(0.85 * a.throughputMbps);
    }, 240_000);
  }

  it('the rules: the bridge port marked in the bridge filter, iptables and ip6tables matching the bridge and the mark', async () => {
    if (tb === undefined) throw new Error('no testbed');
    // the rules as the daemon installs them (its plan, its Interception), read back from the kernel
    const cfg = parseConfig(`interfaces:\n  eth: ${tb.ifaces.apEth}\n  wlan: ${tb.ifaces.apWlan}\n`, 'z.yaml');
    const bridge = tb.d.bridge ?? '';
    const plan = interceptionPlanFrom(cfg, [`${tb.addrs.cli}/24`, `${tb.d.addrs6?.cli ?? ''}/64`], { bridge });
    const ic = new Interception({ chainPrefix: 'ZHUGE', instanceId: `${tb.prefix}t`, netns: tb.ns.ap });
    try {
      await ic.install(plan);
      expect(await ic.isInstalled()).toBe(true);
      const eb = execFileSync('ip', ['netns', 'exec', tb.ns.ap, 'ebtables', '-t', 'filter', '-L', ic.chain], { encoding: 'utf8' });
      expect(eb).toContain(`-i ${tb.ifaces.apWlan} -j mark --mark-or 0x10000000 --mark-target CONTINUE`);
      for (const bin of ['iptables-save', 'ip6tables-save']) {
        const save = execFileSync('ip', ['netns', 'exec', tb.ns.ap, bin, '-t', 'filter'], { encoding: 'utf8' });
        expect(save).toMatch(new RegExp(`-A ${ic.chain} -s \\S+ -i ${bridge} -p tcp -m mark --mark 0x10000000/0x10000000 -j NFQUEUE`));
      }
    } finally {
      await ic.remove();
    }
    const eb = execFileSync('ip', ['netns', 'exec', tb.ns.ap, 'ebtables', '-t', 'filter', '-L', 'INPUT'], { encoding: 'utf8' });
    expect(eb).not.toContain(ic.chain);
  });
});

function print(title: string, ...arms: TrialResult[]): void {
  const keys = Object.keys(arms[0]?.metrics ?? {}) as Array<keyof TrialResult['metrics']>;
  const lines = [`\n${title}: 30 -> 3 Mbit/s, base RTT 40 ms`, `${'metric'.padEnd(28)}${['without', 'window'].map((h) => h.padStart(12)).join('')}`];
  for (const k of keys.concat(['zhugeClampedAcks'])) lines.push(`${String(k).padEnd(28)}${arms.map((r) => String(r.metrics[k] ?? '-').padStart(12)).join('')}`);
  console.log(lines.join('\n'));
}
