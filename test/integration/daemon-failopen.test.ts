/**
 * Integration (root + netns): the live daemon fails open. During an iperf3 download and a TCP
 * request/response probe (cli -> srv, 1 byte every 10 ms: a flow zhuge treats, its uplink goes
 * through NFQUEUE), the daemon is (a) SIGKILLed, (b) SIGSTOPped then SIGCONTed, (c) SIGTERMed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { ApAgent } from '../../testbed/player.js';
import { down, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { iperfDownload, type IperfResult } from '../../testbed/traffic.js';
import { daemonUnavailable, ensureBuilt, hasZhugeRules, httpGetInAp, kernelQueueTotal, monoMs, pollUntil, sleep, startTcpProbe, trafficClockOffsetMs, type TcpProbe } from './_helpers.js';

const why = daemonUnavailable();
const PREFIX = randomPrefix();

/** Longest run of iperf receiver intervals (0.1 s) carrying < 1% of the median rate, in ms. */
function longestIperfStallMs(r: IperfResult, fromHrMs: number, toHrMs: number): number {
  const off = trafficClockOffsetMs();
  const fromMs = fromHrMs - off;
  const toMs = toHrMs - off;
  const ivs = r.receiver.filter((i) => i.startMs >= fromMs && i.endMs <= toMs);
  if (ivs.length < 10) throw new Error(`only ${ivs.length} iperf intervals in the window`);
  const med = [...ivs.map((i) => i.bps)].sort((a, b) => a - b)[Math.floor(ivs.length / 2)] ?? 0;
  let run = 0;
  let best = 0;
  for (const i of ivs) {
    if (i.bps < med * 0.01) run += i.endMs - i.startMs;
    else run = 0;
    best = Math.max(best, run);
  }
  return best;
}

describe.skipIf(why !== undefined)(`daemon fail-open (needs root and netns${why !== undefined ? `: skipped, ${why}` : ''})`, () => {
  let tb: Testbed;
  let daemon: DaemonProc | undefined;
  let probe: TcpProbe | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: PREFIX, rateBps: 20e6, bufferMs: 50});
  }, 60_000);

  /** A test that failed midway leaves its daemon and probe: end them before the next starts. */
  async function cleanup(): Promise<void> {
    await probe?.stop().catch(() => undefined);
    probe = undefined;
    if (daemon !== undefined) {
      const d = daemon;
      daemon = undefined;
      if (d.child.pid !== undefined) process.kill(d.child.pid, 'SIGCONT');
      await d.stop().catch(() => undefined);
    }
  }

  afterAll(async () => {
    await cleanup();
    await down(PREFIX);
  }, 30_000);

  it('kill -9: the watchdog removes the rules within 1 s, no traffic stall over 1 s', async () => {
    await cleanup();
    daemon = await startDaemon(tb, { metricsPort: 9471 });
    expect(await hasZhugeRules(tb)).toBe(true);
    probe = await startTcpProbe(tb, 7101);
    const iperfP = iperfDownload(tb, { durationS: 5, intervalS: 0.1 });
    await sleep(2000);
    const before = (await daemon.status()) as { counters: { uplinkHeld: number; uplink: { tcp: number } } };
    expect(before.counters.uplink.tcp).toBeGreaterThan(100); // the probe's and iperf's ACKs went through the daemon
    const pid = daemon.child.pid as number;
    // the packets the daemon holds sit in the kernel's queue: a crash drops them with the socket
    const heldInKernel = await kernelQueueTotal(tb);
    const tKill = monoMs();
    process.kill(pid, 'SIGKILL');
    const goneMs = await pollUntil(async () => !(await hasZhugeRules(tb)), 3000);
    const iperf = await iperfP;
    const tEnd = monoMs();
    const gap = probe.maxGapMs(tKill - 500, Math.min(tEnd, tKill + 2500));
    const stall = longestIperfStallMs(iperf, tKill - 500, tKill + 2500);
    console.log(
      `kill -9: rules removed after ${goneMs?.toFixed(0)} ms; probe max gap ${gap.toFixed(0)} ms; iperf longest stall ${stall.toFixed(0)} ms; ` +
        `held before kill ${before.counters.uplinkHeld} (status, 2 s before), ${heldInKernel} in the kernel queue at the kill (dropped with the socket)`,
    );
    // heldInKernel is a measurement (printed for docs/operations.md), not asserted: what is
    // asserted is what the loss must not cause, a stall of the flows
    await probe.stop();
    probe = undefined;
    expect(goneMs).toBeDefined();
    expect(goneMs as number).toBeLessThan(1000);
    expect(gap).toBeLessThan(1000);
    expect(stall).toBeLessThan(1000);
    await daemon.stop();
    daemon = undefined;
  }, 40_000);

  it('SIGSTOP: rules gone within 1 s and TCP flows while stopped; SIGCONT: rules back, /status served', async () => {
    await cleanup();
    daemon = await startDaemon(tb, { metricsPort: 9472 });
    expect(await hasZhugeRules(tb)).toBe(true);
    probe = await startTcpProbe(tb, 7102);
    const iperfP = iperfDownload(tb, { durationS: 6, intervalS: 0.1 });
    await sleep(1500);
    const pid = daemon.child.pid as number;
    const tStop = monoMs();
    process.kill(pid, 'SIGSTOP');
    let goneMs: number | undefined;
    try {
      goneMs = await pollUntil(async () => !(await hasZhugeRules(tb)), 3000);
      await sleep(Math.max(0, tStop + 2500 - monoMs()));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const tCont = monoMs();
    const backMs = await pollUntil(async () => hasZhugeRules(tb), 5000, 50);
    const st = (await daemon.status()) as { rulesInstalled: boolean; counters: { uplinkHeld: number } };
    const iperf = await iperfP;
    // while stopped (after the watchdog's reaction): the probe got replies and iperf moved data
    const during = probe.replies.filter((r) => r.tMs >= tStop + 1000 && r.tMs <= tCont);
    const gap = probe.maxGapMs(tStop - 200, tCont);
    const off = trafficClockOffsetMs();
    const bytesDuring = iperf.receiver
      .filter((i) => i.startMs + off >= tStop + 1000 && i.endMs + off <= tCont)
      .reduce((a, i) => a + (i.bps / 8) * ((i.endMs - i.startMs) / 1000), 0);
    console.log(
      `SIGSTOP: rules removed after ${goneMs?.toFixed(0)} ms; while stopped: ${during.length} probe replies, ${(bytesDuring / 1e6).toFixed(2)} MB iperf, probe max gap ${gap.toFixed(0)} ms; SIGCONT: rules back after ${backMs?.toFixed(0)} ms`,
    );
    await probe.stop();
    probe = undefined;
    if (process.env['ZG_DEBUG'] !== undefined) console.log(JSON.stringify(iperf.receiver.map((i) => [Math.round(i.startMs + off - tStop), Math.round(i.bps / 1e6)])), JSON.stringify(iperf.sender.map((i) => [Math.round(i.startMs + off - tStop), Math.round(i.bps / 1e6)])));
    expect(goneMs).toBeDefined();
    expect(goneMs as number).toBeLessThan(1000);
    expect(during.length).toBeGreaterThan(20);
    expect(bytesDuring).toBeGreaterThan(100_000);
    expect(backMs).toBeDefined();
    expect(st.rulesInstalled).toBe(true);
    expect(daemon.logLines.some((l) => l.includes('watchdog removed the rules'))).toBe(true);
    expect(daemon.logLines.some((l) => l.includes('re-installing the rules'))).toBe(true);
    const code = await daemon.stop();
    daemon = undefined;
    expect(code).toBe(0);
  }, 40_000);

  it('SIGTERM during traffic: exit 0, no zhuge rule or chain left, held packets released (logged)', async () => {
    await cleanup();
    daemon = await startDaemon(tb, { metricsPort: 9473 });
    probe = await startTcpProbe(tb, 7103);
    const iperfP = iperfDownload(tb, { durationS: 4, intervalS: 0.1 });
    await sleep(1500);
    // a rate drop makes the predicted delay climb, so ACKs get held: stop while some are
    const agent = await ApAgent.start(tb);
    let heldSeen = 0;
    try {
      await agent.setRate(2e6);
      await pollUntil(async () => {
        const r = await httpGetInAp(tb, 9473, '/status');
        heldSeen = (JSON.parse(r.body) as { heldPackets: number }).heldPackets;
        return heldSeen > 0;
      }, 1500, 5);
    } finally {
      agent.close();
    }
    const st = (await daemon.status()) as { counters: { uplinkHeld: number } };
    const d = daemon;
    const tTerm = monoMs();
    const code = await d.stop();
    daemon = undefined;
    const rulesLeft = await hasZhugeRules(tb);
    await iperfP;
    const gap = probe.maxGapMs(tTerm - 200, Math.min(monoMs(), tTerm + 1500));
    await probe.stop();
    probe = undefined;
    const stopped = d.logLines.map((l) => JSON.parse(l) as { msg?: string; released?: number }).find((l) => l.msg?.includes('held packets released') === true);
    console.log(`SIGTERM: exit ${String(code)}; held before stop ${st.counters.uplinkHeld} (held at the last /status: ${heldSeen}); released at stop ${String(stopped?.released)}; probe max gap after ${gap.toFixed(0)} ms`);
    expect(code).toBe(0);
    expect(rulesLeft).toBe(false);
    expect(stopped).toBeDefined();
    expect(typeof stopped?.released).toBe('number');
    expect(gap).toBeLessThan(1000);
  }, 30_000);
});
