/**
 * Bandwidth-drop trials on the testbed, without and with zhuge, on one testbed in one run
 * (the demo, the CI integration test and the evaluation all use this).
 *
 * One trial: the bottleneck starts at R, an iperf3 download srv -> cli runs with the chosen
 * congestion control, a ping probe (srv -> cli, every 10 ms) measures what a real-time packet
 * crossing the same queue experiences, and `ss` in srv samples the sender's smoothed RTT; at
 * `dropAtS` the rate falls to R/k. With zhuge, the daemon runs in the ap namespace (its own
 * process, the real binary) for the whole trial.
 */
import { ackModeYaml, heldSummary, type AckMode, type DaemonProcOptions, type DaemonStatus } from './daemon-proc.js';
import { quantile, r2 } from './stats.js';
import type { Testbed } from './topology.js';
import { iperfDownload, monoNowMs, pingProbe, ssSampler, startRttTap, type IperfResult, type RttSample, type SsSample } from './traffic.js';
import { armLabel, runPairs, runTrial, type Progress, type TrialOutcome, type TrialSetup } from './trial.js';

export interface DropScenario {
  rateMbps: number;
  k: number;
  dropAtS: number;
  durationS: number;
  cc: string;
  /** one-way base delay added by the relay in wan (0 = none) */
  baseDelayMsEachWay: number;
  /**
   * one-way latency of the Wi-Fi hop itself, both directions (a relay on the client's interface,
   * testbed/relay.ts; 0 or absent = none, the veth's ~0): the part of the control loop between
   * the AP's queue and the client and back that zhuge's feedback skips
   */
  wifiHopMsEachWay?: number;
  pingIntervalMs: number;
  /** the daemon's feedbackUpdater.mode in the arm with zhuge (absent: the config default, 'increments') */
  ackMode?: AckMode;
}

export const DEMO_SCENARIO: DropScenario = {
  rateMbps: 30,
  k: 10,
  dropAtS: 10,
  durationS: 20,
  cc: 'bbr',
  baseDelayMsEachWay: 20,
  pingIntervalMs: 10,
};

export interface TrialMetrics {
  /** ping RTT after the drop (lost probes count as 1000 ms) */
  rttP50Ms: number;
  rttP95Ms: number;
  rttP99Ms: number;
  /** time after the drop with ping RTT above 200 ms (lost probes included) */
  rttAbove200msSeconds: number;
  /** ping RTT before the drop (steady state) */
  rttBeforeDropP50Ms: number;
  probesLost: number;
  /** the sender's smoothed RTT (ss): median before the drop, p99 after */
  senderSrttBeforeDropMs: number;
  senderSrttAfterDropP99Ms: number;
  /** from the drop until the sender's srtt first exceeds its pre-drop median by 20 ms (NaN: never) */
  senderRttRiseMs: number;
  /** per-ACK RTT at the sender (tcptrace-style): median before the drop, and the time from the
   * drop until the first ACK whose RTT exceeds that median by 5 / 10 / 20 ms */
  ackRttBeforeDropP50Ms: number;
  ackRttRise5msMs: number;
  ackRttRise10msMs: number;
  ackRttRise20msMs: number;
  ackRttAfterDropP99Ms: number;
  /** received throughput before and after the drop */
  throughputBeforeDropMbps: number;
  throughputMbps: number;
  retransmits: number;
  /** uplink packets the daemon held, and its malformed / internal error counts (with zhuge) */
  zhugeHeldPackets?: number;
  zhugeMeanAddedDelayMs?: number;
  /** feedbackUpdater.mode window: ACKs whose receive window the daemon lowered */
  zhugeClampedAcks?: number;
}

export type TrialResult = TrialOutcome<
  TrialMetrics,
  { pings: RttSample[]; ss: SsSample[]; ackRtts: RttSample[]; iperf: IperfResult; dropAtMonoMs: number; startMonoMs: number; daemonStatus?: DaemonStatus | undefined }
>;


/** The ping probe's metrics of a drop trial (TrialMetrics' rtt* and probesLost fields). */
export type PingMetrics = Pick<TrialMetrics, 'rttP50Ms' | 'rttP95Ms' | 'rttP99Ms' | 'rttAbove200msSeconds' | 'rttBeforeDropP50Ms' | 'probesLost'>;

/** Pure: the ping probe after the drop (lost probes count as 1000 ms) and its median before. */
export function summarizePings(pings: readonly RttSample[], dropAtMonoMs: number, endMonoMs: number, pingIntervalMs: number): PingMetrics {
  // a probe belongs to the phase it was sent in: ping prints the reply's receive time
  const sentMs = (p: RttSample): number => p.tMs - p.rttMs;
  const after = pings.filter((p) => sentMs(p) >= dropAtMonoMs && sentMs(p) < endMonoMs);
  const before = pings.filter((p) => sentMs(p) < dropAtMonoMs && sentMs(p) >= dropAtMonoMs - 5000);
  // losses are the sequence numbers missing among the probes sent after the drop, and the
  // interval is the one ping kept: `ping -i 0.01` sends every ~15 ms on a loaded 2-core machine,
  // and counting the nominal interval's "expected" probes made a third of them look lost
  let lost = 0;
  let intervalMs = pingIntervalMs;
  const seqs = after.map((p) => p.seq).filter((q): q is number => q !== undefined);
  if (seqs.length !== after.length) {
    // no sequence numbers (not ping's output): probes expected at the nominal interval
    const expected = Math.floor((Math.min(endMonoMs, (pings.at(-1)?.tMs ?? endMonoMs) + 1) - dropAtMonoMs) / pingIntervalMs);
    lost = Math.max(0, expected - after.length);
  } else if (seqs.length > 1) {
    const lo = Math.min(...seqs);
    const hi = Math.max(...seqs);
    lost = hi - lo + 1 - new Set(seqs).size;
    const first = after.find((p) => p.seq === lo);
    const last = after.find((p) => p.seq === hi);
    if (first !== undefined && last !== undefined && hi > lo) intervalMs = (sentMs(last) - sentMs(first)) / (hi - lo);
  }
  const rtts = after.map((p) => p.rttMs).concat(new Array<number>(lost).fill(1000));
  const above = rtts.filter((r) => r > 200).length;
  return {
    rttP50Ms: r2(quantile(rtts, 0.5)),
    rttP95Ms: r2(quantile(rtts, 0.95)),
    rttP99Ms: r2(quantile(rtts, 0.99)),
    rttAbove200msSeconds: r2((above * intervalMs) / 1000),
    rttBeforeDropP50Ms: r2(quantile(before.map((p) => p.rttMs), 0.5)),
    probesLost: lost,
  };
}

/** Pure: the metrics of one trial from its raw samples. */
export function summarizeTrial(
  pings: readonly RttSample[],
  ss: readonly SsSample[],
  iperf: IperfResult,
  dropAtMonoMs: number,
  endMonoMs: number,
  pingIntervalMs: number,
  startMonoMs: number,
  ackRtts: readonly RttSample[] = [],
): TrialMetrics {
  const ackBefore = ackRtts.filter((s) => s.tMs < dropAtMonoMs && s.tMs >= dropAtMonoMs - 2000).map((s) => s.rttMs);
  const ackBase = quantile(ackBefore, 0.5);
  const ackRise = (thresholdMs: number): number => {
    const hit = ackRtts.find((s) => s.tMs >= dropAtMonoMs && s.rttMs > ackBase + thresholdMs);
    return hit === undefined ? Number.NaN : r2(hit.tMs - dropAtMonoMs);
  };
  const ssBefore = ss.filter((s) => s.tMs < dropAtMonoMs && s.tMs >= dropAtMonoMs - 5000).map((s) => s.rttMs);
  const base = quantile(ssBefore, 0.5);
  const rise = ss.find((s) => s.tMs >= dropAtMonoMs && s.rttMs > base + 20);
  const recvAfter = iperf.receiver.filter((i) => i.startMs >= dropAtMonoMs - 1);
  const recvBefore = iperf.receiver.filter((i) => i.endMs <= dropAtMonoMs + 1 && i.startMs >= startMonoMs + 2000);
  const mbps = (ivs: typeof recvAfter): number => {
    let bits = 0;
    let ms = 0;
    for (const i of ivs) {
      bits += i.bps * ((i.endMs - i.startMs) / 1000);
      ms += i.endMs - i.startMs;
    }
    return ms > 0 ? bits / (ms / 1000) / 1e6 : Number.NaN;
  };
  return {
    ...summarizePings(pings, dropAtMonoMs, endMonoMs, pingIntervalMs),
    senderSrttBeforeDropMs: r2(base),
    senderSrttAfterDropP99Ms: r2(quantile(ss.filter((s) => s.tMs >= dropAtMonoMs).map((s) => s.rttMs), 0.99)),
    senderRttRiseMs: rise === undefined ? Number.NaN : r2(rise.tMs - dropAtMonoMs),
    ackRttBeforeDropP50Ms: r2(ackBase),
    ackRttRise5msMs: ackRise(5),
    ackRttRise10msMs: ackRise(10),
    ackRttRise20msMs: ackRise(20),
    ackRttAfterDropP99Ms: r2(quantile(ackRtts.filter((s) => s.tMs >= dropAtMonoMs).map((s) => s.rttMs), 0.99)),
    throughputBeforeDropMbps: r2(mbps(recvBefore)),
    throughputMbps: r2(mbps(recvAfter)),
    retransmits: iperf.sender.reduce((a, i) => a + (i.retransmits ?? 0), 0),
  };
}

// ---- one trial -----------------------------------------------------------------------------

/** The rate after the drop (bit/s): R/k, at least the 8 kbit/s htb accepts. */
export function droppedRateBps(sc: Pick<DropScenario, 'rateMbps' | 'k'>): number {
  return Math.max(8000, Math.round((sc.rateMbps * 1e6) / sc.k));
}

/** The progress line of a drop trial at tS seconds: the arm, `what` (e.g. the sender) and the rate. */
export function dropTickLine(withZhuge: boolean, what: string, tS: number, sc: Pick<DropScenario, 'rateMbps' | 'k' | 'dropAtS'>): string {
  return `${armLabel(withZhuge)}  ${what}t=${tS.toFixed(0).padStart(3)} s  rate ${tS < sc.dropAtS ? sc.rateMbps : r2(sc.rateMbps / sc.k)} Mbit/s`;
}

export async function runDropTrial(tb: Testbed, sc: DropScenario, withZhuge: boolean, progress: Progress = () => {}, daemonOpts: DaemonProcOptions = {}): Promise<TrialResult> {
  const setup: TrialSetup = {
    withZhuge,
    rateBps: sc.rateMbps * 1e6,
    // the namespace default is best effort (a host may not allow e.g. cubic as a default);
    // iperf3 -C sets the congestion control on the socket in any case
    prepare: () => tb.setCongestionControl('srv', sc.cc).catch(() => undefined),
    daemon: { ...daemonOpts, extraYaml: `${ackModeYaml(sc.ackMode)}${daemonOpts.extraYaml ?? ''}` },
  };
  return runTrial(tb, setup, async (t) => {
    const durationMs = sc.durationS * 1000;
    const startMonoMs = monoNowMs();
    const pingP = pingProbe(tb, { durationMs: durationMs + 500, intervalMs: sc.pingIntervalMs });
    const ss = ssSampler(tb, { durationMs: durationMs + 500, periodMs: 20 });
    t.onCleanup(() => ss.stop());
    const rttTap = await startRttTap(tb);
    const iperfP = iperfDownload(tb, { durationS: sc.durationS, cc: sc.cc, intervalS: 0.1 });
    const playStartMs = monoNowMs();
    t.armDrop(sc.dropAtS * 1000, droppedRateBps(sc));
    t.tick(1000, () => progress(dropTickLine(withZhuge, '', (monoNowMs() - playStartMs) / 1000, sc)));
    const [pings, iperf] = await Promise.all([pingP, iperfP]);
    t.stopTimers();
    const ackRtts = await rttTap.stop();
    const dropAtMonoMs = t.dropAtMonoMs();
    if (Number.isNaN(dropAtMonoMs)) throw new Error('the rate drop was not applied');
    ss.stop();
    const ssSamples = await ss.done;
    const endMonoMs = startMonoMs + durationMs;
    const metrics = summarizeTrial(pings, ssSamples, iperf, dropAtMonoMs, endMonoMs, sc.pingIntervalMs, startMonoMs, ackRtts);
    const daemonStatus = await t.daemon.finish();
    if (withZhuge) {
      const flows = daemonStatus?.flows ?? [];
      const held = heldSummary(flows);
      metrics.zhugeHeldPackets = held.heldPackets;
      if (sc.ackMode === 'window') metrics.zhugeClampedAcks = flows.reduce((a, f) => a + (f.window?.clampedAcks ?? 0), 0);
      metrics.zhugeMeanAddedDelayMs = r2(held.meanAddedDelayMs);
    }
    return { zhuge: withZhuge, metrics, raw: { pings, ss: ssSamples, ackRtts, iperf, dropAtMonoMs, startMonoMs, daemonStatus } };
  });
}

export interface DropRunOptions {
  scenario: DropScenario;
  /** trials per arm; arms interleave (without, with, without, with, ...) */
  repeat: number;
  progress?: Progress;
}

export interface DropRun {
  scenario: DropScenario;
  runs: TrialResult[];
}

export async function runDropExperiment(tb: Testbed, o: DropRunOptions): Promise<DropRun> {
  return { scenario: o.scenario, runs: await runPairs(o.repeat, (withZhuge) => runDropTrial(tb, o.scenario, withZhuge, o.progress)) };
}
