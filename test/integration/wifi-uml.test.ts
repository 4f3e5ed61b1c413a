/**
 * The Wi-Fi testbed's first step (issue 17): a real mac80211 stack. A User-Mode Linux kernel with
 * mac80211_hwsim (scripts/build-uml.sh) boots on the host's files, hostapd runs an AP on one
 * simulated radio and wpa_supplicant a station on the other, in its own network namespace. What a
 * real OpenWrt AP has must be there: the AP interface's qdisc is `noqueue` (the queue is below
 * it, in mac80211's per-station TXQs), and debugfs shows the station's TXQ (`aqm`) and airtime
 * files that queue.backend: mac80211 will read.
 *
 * Then the medium (testbed/wifi/medium.ts, ours) on the air at 4 Mbit/s and a UDP stream through
 * the AP: with our hwsim change (pending_limit 8) the queue forms in the station's TXQs, as on a
 * real AP; with stock hwsim (0) the TXQs stay empty.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootUml, cachedUmlKernel, listResults, REPO_ROOT, UML_SHARED_TMP } from '../../testbed/wifi/uml.js';

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

  it('with our medium on the air (4 Mbit/s), the queue forms in the TXQs only with the hwsim change (pending_limit 8 vs 0)', async () => {
    expect(why, 'UML kernel for the Wi-Fi testbed').toBeUndefined();
    const runs: Record<string, { txqMaxBytes: number; txqMeanBytes: number; mediumMaxQueued: number; delivered: number; apMbps: number }> = {};
    for (const pendingLimit of [8, 0]) {
      const r = await bootUml({ kernel: kernel ?? '', pendingLimit, scenario: join(REPO_ROOT, 'testbed/wifi/scenarios/queue.sh'), timeoutMs: 120_000 });
      expect(r.state, `pending_limit ${pendingLimit}: ${r.initLog.join(' | ')}`).toBe('associated');
      const aqm = readFileSync(join(r.out, 'aqm.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
      // medium.log: "in <µs> <tx> <bytes> ..." when hwsim hands a frame over, "<µs> <tx> <bytes> <queued>" when it left the air
      const left = readFileSync(join(r.out, 'medium.log'), 'utf8').trim().split('\n').filter((l) => l !== '' && !l.startsWith('in ') && !l.startsWith('error ') && !l.startsWith('d ')).map((l) => l.split(' '));
      const ap = left.filter((x) => x[1] === '420000000000');
      const spanUs = ap.length > 1 ? Number(ap.at(-1)?.[0]) - Number(ap[0]?.[0]) : 0;
      runs[String(pendingLimit)] = {
        txqMaxBytes: Math.max(0, ...aqm.map((x) => x[1] ?? 0)),
        txqMeanBytes: Math.round(aqm.reduce((acc, x) => acc + (x[1] ?? 0), 0) / Math.max(1, aqm.length)),
        mediumMaxQueued: Math.max(0, ...left.map((x) => Number(x[3]))),
        delivered: left.length,
        apMbps: spanUs > 0 ? Number(((ap.reduce((acc, x) => acc + Number(x[2]), 0) * 8) / spanUs).toFixed(2)) : 0,
      };
      rmSync(r.out, { recursive: true, force: true });
    }
    console.log(`where the queue forms (UDP ~9 Mbit/s into a 4 Mbit/s medium): ${JSON.stringify(runs)}`);
    const withPatch = runs['8'];
    const stock = runs['0'];
    // pending_limit 8: each of the two radios has at most 8 frames out before its queues stop
    // (beacons and management frames are sent even then: measured 9-13 in the medium at once);
    // the rest waits in the station's TXQs. (Stock hwsim floods the medium: 878-962 frames in it
    // at once in most runs; once its socket overflowed and it delivered almost nothing.)
    expect(withPatch?.txqMaxBytes).toBeGreaterThan(100_000);
    expect(withPatch?.mediumMaxQueued).toBeLessThanOrEqual(2 * 8 + 8);
    // some flow crossed the air (105-866 frames in the last runs: the medium still stalls part-way
    // now and then, an open defect in docs/wifi-testbed.md; what this test proves is where the queue is)
    expect(withPatch?.delivered).toBeGreaterThan(50);
    // stock hwsim takes every frame at once: the TXQs stay empty whatever the medium does
    expect(stock?.txqMaxBytes).toBeLessThan(3000);
  }, 300_000);
});
