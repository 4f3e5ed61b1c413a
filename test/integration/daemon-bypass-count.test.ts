/**
 * Integration (root + netns), issue 15 (finding 6: "the queue-full bypass is not counted"): with
 * a short kernel queue (nfqueue.maxLen 16) and the daemon stopped for a second (SIGSTOP; the
 * watchdog's stallMs set above that, so the rules stay), the client's uplink UDP (2000 datagrams
 * a second, which no ACK clock stops: a TCP download's ACKs stop with the data once 16 are held)
 * fills the queue and the kernel passes the rest unqueued (fail-open).
 * zhuge_nfqueue_bypassed_total must count them at the next rule check, and be 0 in the same run
 * before the stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { down, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
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

  it('a full queue (maxLen 16) while the daemon is stopped 1 s: the passed datagrams counted at the next check, none before', async () => {
    daemon = await startDaemon(tb, { metricsPort: PORT, extraYaml: 'nfqueue:\n  maxLen: 16\nwatchdog:\n  stallMs: 4000\n' });
    const bypassed = async (): Promise<number> => metricValue((await httpGetInAp(tb, PORT, '/metrics')).body, 'zhuge_nfqueue_bypassed_total') ?? Number.NaN;
    // 2000 UDP datagrams a second from the client for 14 s (the RTP path's rule matches UDP)
    const UDP = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic(); n = 0
while time.monotonic() - t0 < 14:
    s.sendto(b'x' * 100, ('${tb.addrs.srv}', 40000)); n += 1
    time.sleep(max(0, t0 + n / 2000 - time.monotonic()))
print(n)
`;
    const udpP = tb.exec('cli', 'python3', ['-c', UDP], 30_000);
    // a rule check every 5 s: two of them before the stop
    await sleep(6000);
    const before = await bypassed();
    const pid = daemon.child.pid as number;
    process.kill(pid, 'SIGSTOP');
    await sleep(1000);
    process.kill(pid, 'SIGCONT');
    await sleep(6000); // the next check
    const after = await bypassed();
    const sent = Number((await udpP).stdout.trim());
    const st = (await daemon.status()) as { counters: { uplink: { udp: number } } };
    console.log(`fail-open passes counted: ${before} before the stop, ${after} after it; UDP datagrams sent ${sent}, through zhuge ${st.counters.uplink.udp}`);
    expect(sent).toBeGreaterThan(10_000);
    // before the stop the daemon keeps up with 2000 datagrams a second: 0 passed in every run on
    // a quiet machine; a clean-clone CI run on a machine slow everywhere (its UML test starved) had
    // 13, real passes of a lagging reader (the sum below still held to 4 datagrams)
    expect(before).toBeLessThanOrEqual(100);
    // about 2000 sent during the stop, 16 of them queued: the rest passed
    expect(after - before).toBeGreaterThan(1000);
    // every datagram either reached zhuge or was counted as passed (a few in flight at the last read)
    expect(Math.abs(st.counters.uplink.udp + after - sent)).toBeLessThanOrEqual(50);
  }, 60_000);
});
