/**
 * Integration (root + netns), issue 15 (finding 6: "the queue-full bypass is not counted"): with
 * a short kernel queue (nfqueue.maxLen 16) and the daemon stopped for a second (SIGSTOP; the
 * watchdog's stallMs set above that, so the rules stay), the uplink ACKs of a download fill the
 * queue and the kernel passes the rest unqueued (fail-open). zhuge_nfqueue_bypassed_total must
 * count them at the next rule check, and stay 0 in the same run before the stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { down, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { iperfDownload } from '../../testbed/traffic.js';
import { daemonUnavailable, ensureBuilt, httpGetInAp, metricValue, sleep } from './_helpers.js';

const why = daemonUnavailable();
const PREFIX = randomPrefix();
const PORT = 9476;

describe.skipIf(why !== undefined)(`the kernel's fail-open passes counted (needs root and netns${why !== undefined ? `: skipped, ${why}` : ''})`, () => {
  let tb: Testbed;
  let daemon: DaemonProc | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: PREFIX, rateBps: 20e6, bufferMs: 50 });
  }, 60_000);

  afterAll(async () => {
    if (daemon?.child.pid !== undefined) process.kill(daemon.child.pid, 'SIGCONT');
    await daemon?.stop().catch(() => undefined);
    await down(PREFIX);
  }, 30_000);

  it('a full queue (maxLen 16) while the daemon is stopped 1 s: the passed ACKs counted at the next check, none before', async () => {
    daemon = await startDaemon(tb, { metricsPort: PORT, extraYaml: 'nfqueue:\n  maxLen: 16\nwatchdog:\n  stallMs: 4000\n' });
    const bypassed = async (): Promise<number> => metricValue((await httpGetInAp(tb, PORT, '/metrics')).body, 'zhuge_nfqueue_bypassed_total') ?? Number.NaN;
    const iperfP = iperfDownload(tb, { durationS: 14, intervalS: 0.5 });
    // a rule check every 5 s: two of them before the stop
    await sleep(6000);
    const before = await bypassed();
    const pid = daemon.child.pid as number;
    process.kill(pid, 'SIGSTOP');
    await sleep(1000);
    process.kill(pid, 'SIGCONT');
    await sleep(6000); // the next check
    const after = await bypassed();
    const iperf = await iperfP;
    const st = (await daemon.status()) as { counters: { uplink: { tcp: number } } };
    console.log(`fail-open passes counted: ${before} before the stop, ${after} after it; uplink TCP packets through zhuge ${st.counters.uplink.tcp}; download ${(iperf.receiver.reduce((a, i) => a + i.bps, 0) / Math.max(1, iperf.receiver.length) / 1e6).toFixed(1)} Mbit/s`);
    expect(before).toBe(0);
    // a 20 Mbit/s download's ACKs over 1 s are hundreds; 16 were queued
    expect(after).toBeGreaterThan(50);
  }, 60_000);
});
