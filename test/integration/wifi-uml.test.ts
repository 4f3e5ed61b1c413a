/**
 * The Wi-Fi testbed's first step (issue 17): a real mac80211 stack. A User-Mode Linux kernel with
 * mac80211_hwsim (scripts/build-uml.sh) boots on the host's files, hostapd runs an AP on one
 * simulated radio and wpa_supplicant a station on the other, in its own network namespace. What a
 * real OpenWrt AP has must be there: the AP interface's qdisc is `noqueue` (the queue is below
 * it, in mac80211's per-station TXQs), and debugfs shows the station's TXQ (`aqm`) and airtime
 * files that queue.backend: mac80211 will read.
 *
 * No medium runs yet, so hwsim delivers every frame at once and the TXQs stay empty: the
 * medium and the queue are the next step.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootUml, cachedUmlKernel, listResults, UML_SHARED_TMP } from '../../testbed/wifi/uml.js';

const isRoot = process.getuid?.() === 0;
const kernel = isRoot ? cachedUmlKernel() : undefined;
const inCi = process.env['CI'] === 'true';
const why = !isRoot ? 'not root' : kernel === undefined ? 'the UML kernel is not built (scripts/build-uml.sh)' : undefined;

describe.skipIf(why !== undefined && !inCi)(`a real mac80211 stack in User-Mode Linux (${why ?? 'root, UML kernel built'})`, () => {
  it('boots, a station associates with hostapd, the AP qdisc is noqueue and the station TXQ files exist', async () => {
    // in CI the kernel must have been built by `npm run test:netns`: a missing one fails here
    expect(why, 'UML kernel for the Wi-Fi testbed').toBeUndefined();
    const dir = mkdtempSync(join(UML_SHARED_TMP, 'zhuge-uml-scn-'));
    const scenario = join(dir, 'scenario.sh');
    writeFileSync(
      scenario,
      [
        'set -x',
        'tc qdisc show dev wlan0',
        'sta=$(ls /sys/kernel/debug/ieee80211/phy0/netdev:wlan0/stations/ | head -n 1)',
        'echo "station $sta"',
        'ls /sys/kernel/debug/ieee80211/phy0/netdev:wlan0/stations/$sta/',
        'cat /sys/kernel/debug/ieee80211/phy0/netdev:wlan0/stations/$sta/aqm',
        'iw dev wlan0 station dump',
        // the data path over the simulated radio: the station pings the AP
        'ip addr add 192.168.77.1/24 dev wlan0',
        'ip netns exec sta ip addr add 192.168.77.2/24 dev wlan1',
        'ip netns exec sta ping -c 3 -i 0.2 -W 1 192.168.77.1 || true',
        '',
      ].join('\n'),
    );
    const r = await bootUml({ kernel: kernel ?? '', pendingLimit: 8, scenario, timeoutMs: 90_000 });
    const scn = (() => {
      try {
        return readFileSync(join(r.out, 'scenario.log'), 'utf8');
      } catch {
        return '';
      }
    })();
    console.log(`UML boot: exit ${String(r.exitCode)} after ${(r.wallMs / 1000).toFixed(2)} s; init log:\n  ${r.initLog.join('\n  ')}\nscenario:\n${scn}`);
    expect(r.state, `results ${listResults(r.out).join(', ')}; console tail: ${r.console.slice(-2000)}`).toBe('associated');
    expect(r.exitCode).toBe(0);
    expect(scn).toMatch(/qdisc noqueue 0: root/);
    expect(scn).toMatch(/^station [0-9a-f]{2}(:[0-9a-f]{2}){5}$/m);
    // the station's TXQs (fq_codel per TID) and its airtime accounting, in debugfs
    expect(scn).toMatch(/tid ac backlog-bytes backlog-packets/);
    expect(scn).toMatch(/^airtime$/m);
    expect(scn).toMatch(/Station [0-9a-f:]{17} \(on wlan0\)/);
    expect(scn).toMatch(/3 packets transmitted, 3 received/);
    rmSync(r.out, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
