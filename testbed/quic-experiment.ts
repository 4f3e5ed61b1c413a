/**
 * Bandwidth-drop trials with a real QUIC sender (ngtcp2's gtlsserver in srv, testbed/quic.ts),
 * without and with zhuge, on one testbed — the QUIC twin of runDropTrial (testbed/experiment.ts).
 *
 * One trial: the bottleneck starts at R, one QUIC download srv -> cli runs for durationS, a ping
 * probe (srv -> cli, every pingIntervalMs) measures what a real-time packet crossing the same
 * queue experiences, and the server's qlog gives the sender's RTT estimate (latest_rtt and
 * smoothed_rtt after every ACK); at dropAtS the rate falls to R/k (one rtnetlink request from
 * this process, its time known on the mono clock). With zhuge, the daemon runs in the ap
 * namespace (the real binary) with QUIC treatment on the server's port for the whole trial: it
 * delays the client's uplink QUIC packets (which carry the ACK frames) by the predicted
 * queueing-delay increments, so the sender should see the queue build up sooner.
 */
import { ackModeYaml, heldSummary, type DaemonProc, type DaemonStatus } from './daemon-proc.js';
import { droppedRateBps, dropTickLine, summarizePings, type DropScenario, type PingMetrics } from './experiment.js';
import { quicDownload, type QuicCc, type QuicDownloadResult } from './quic.js';
import { quantile, r2 } from './stats.js';
import type { Testbed } from './topology.js';
import { monoNowMs, pingProbe, sleep, type RttSample } from './traffic.js';
import { runPairs, runTrial, type Progress, type TrialOutcome } from './trial.js';

export interface QuicDropScenario extends Omit<DropScenario, 'cc'> {
  cc: QuicCc;
  /** the server's UDP port (treated as QUIC by the daemon) */
  port: number;
}

export const QUIC_DEMO_SCENARIO: QuicDropScenario = {
  rateMbps: 30,
  k: 10,
  dropAtS: 10,
  durationS: 20,
  cc: 'cubic',
  baseDelayMsEachWay: 20,
  pingIntervalMs: 10,
  port: 4433,
};

/** The ping probe's metrics (PingMetrics, as the TCP trial's) and the QUIC sender's. */
export interface QuicTrialMetrics extends PingMetrics {
  /** the sender's (ngtcp2's) estimate over the 2 s before the drop: median smoothed_rtt / latest_rtt */
  senderRttBeforeDropMs: number;
  senderLatestRttBeforeDropMs: number;
  /** from the drop until the sender's latest_rtt first exceeds its pre-drop median by 5/10/20 ms (NaN: never) */
  senderRttRise5msMs: number;
  senderRttRise10msMs: number;
  senderRttRise20msMs: number;
  /** from the drop until smoothed_rtt first exceeds its pre-drop median by 20 ms (NaN: never) */
  senderSrttRise20msMs: number;
  senderSrttAfterDropP99Ms: number;
  /** received STREAM bytes (client qlog): from 2 s after the start to the drop, and after it */
  throughputBeforeDropMbps: number;
  throughputMbps: number;
  /** uplink packets the daemon held (QUIC flows) and the mean delay it added (with zhuge) */
  zhugeHeldPackets?: number;
  zhugeMeanAddedDelayMs?: number;
  zhugeQuicFlows?: number;
  zhugeInternalErrors?: number;
  /** departures the daemon's queue model matched to their arrival (%, of all departures) */
  zhugeDeparturesMatchedPct?: number;
}

export type QuicTrialResult = TrialOutcome<
  QuicTrialMetrics,
  {
    pings: RttSample[];
    senderRtt: QuicDownloadResult['senderRtt'];
    received: QuicDownloadResult['received'];
    dropAtMonoMs: number;
    startMonoMs: number;
    download: Omit<QuicDownloadResult, 'senderRtt' | 'received' | 'cwndBytes'>;
    daemonStatus?: DaemonStatus | undefined;
  }
>;


/** Pure: the metrics of one QUIC trial from its raw samples (all times mono ms). */
export function summarizeQuicTrial(
  pings: readonly RttSample[],
  dl: Pick<QuicDownloadResult, 'senderRtt' | 'received'>,
  dropAtMonoMs: number,
  endMonoMs: number,
  pingIntervalMs: number,
  startMonoMs: number,
): QuicTrialMetrics {
  const s = dl.senderRtt;
  const pre = s.filter((x) => x.tMs < dropAtMonoMs && x.tMs >= dropAtMonoMs - 2000);
  const latestBase = quantile(pre.map((x) => x.latestRttMs), 0.5);
  const srttBase = quantile(pre.map((x) => x.smoothedRttMs), 0.5);
  const postDrop = s.filter((x) => x.tMs >= dropAtMonoMs && x.tMs < endMonoMs);
  const rise = (key: 'latestRttMs' | 'smoothedRttMs', base: number, thresholdMs: number): number => {
    const hit = postDrop.find((x) => x[key] > base + thresholdMs);
    return hit === undefined ? Number.NaN : r2(hit.tMs - dropAtMonoMs);
  };
  const mbps = (fromMs: number, toMs: number): number => {
    // 100 ms bins fully inside [fromMs, toMs)
    const bins = dl.received.filter((b) => b.tMs >= fromMs && b.tMs + 100 <= toMs);
    const spanMs = Math.floor((toMs - fromMs) / 100) * 100;
    if (spanMs <= 0) return Number.NaN;
    return (bins.reduce((a, b) => a + b.bytes, 0) * 8) / (spanMs / 1000) / 1e6;
  };
  // bins start at startMonoMs + n*100: align the windows on them
  const firstAfter = startMonoMs + Math.ceil((dropAtMonoMs - startMonoMs) / 100) * 100;
  return {
    ...summarizePings(pings, dropAtMonoMs, endMonoMs, pingIntervalMs),
    senderRttBeforeDropMs: r2(srttBase),
    senderLatestRttBeforeDropMs: r2(latestBase),
    senderRttRise5msMs: rise('latestRttMs', latestBase, 5),
    senderRttRise10msMs: rise('latestRttMs', latestBase, 10),
    senderRttRise20msMs: rise('latestRttMs', latestBase, 20),
    senderSrttRise20msMs: rise('smoothedRttMs', srttBase, 20),
    senderSrttAfterDropP99Ms: r2(quantile(postDrop.map((x) => x.smoothedRttMs), 0.99)),
    throughputBeforeDropMbps: r2(mbps(startMonoMs + 2000, dropAtMonoMs)),
    throughputMbps: r2(mbps(firstAfter, endMonoMs)),
  };
}

/** The daemon's config for a QUIC trial: QUIC treatment on the server's port. */
export function quicDaemonYaml(port: number): string {
  return ['flows:', '  quic:', '    enabled: true', `    ports: [${port}]`].join('\n');
}

/**
 * Resolves once both of the daemon's capture taps delivered a packet (a ping crosses the AP).
 * Needed for QUIC: the engine creates a QUIC flow only from a long-header packet (the
 * handshake), so a connection whose handshake crossed the AP before the taps were live is never
 * treated — and "zhuge started" is logged before libpcap delivers its first packet (measured:
 * a download started 600 ms after it got no QUIC flow).
 */
export async function waitTapsLive(tb: Testbed, daemon: DaemonProc, timeoutMs = 10_000): Promise<void> {
  const deadline = monoNowMs() + timeoutMs;
  for (;;) {
    await tb.exec('srv', 'ping', ['-n', '-c', '1', '-W', '1', tb.addrs.cli]).catch(() => undefined);
    const st = await daemon.status().catch(() => undefined);
    const taps = st?.taps ?? [];
    if (taps.length >= 2 && taps.every((t) => (t.delivered ?? 0) > 0)) return;
    if (monoNowMs() > deadline) throw new Error('the daemon\'s capture taps delivered nothing');
    await sleep(100);
  }
}

/** The daemon treats a QUIC flow that saw a packet within the last second. */
async function liveQuicFlow(d: DaemonProc): Promise<boolean> {
  const st = await d.status().catch(() => undefined);
  return (st?.flows ?? []).some((f) => f.protocol === 'quic' && (f.idleMs ?? Infinity) < 1000);
}

export async function runQuicDropTrial(tb: Testbed, sc: QuicDropScenario, withZhuge: boolean, progress: Progress = () => {}): Promise<QuicTrialResult> {
  const setup = { withZhuge, rateBps: sc.rateMbps * 1e6, daemon: { extraYaml: `${quicDaemonYaml(sc.port)}\n${ackModeYaml(sc.ackMode)}` }, daemonReady: (d: DaemonProc) => waitTapsLive(tb, d) };
  return runTrial(tb, setup, async (t) => {
    const durationMs = sc.durationS * 1000;
    // Each connection attempt (re)starts the clock: ping probe, drop timer, progress. Only the
    // zhuge arm may retry (accept below); rejected attempts' probes end on their own.
    let startMonoMs = monoNowMs();
    let pingP: Promise<RttSample[]> | undefined;
    let attempts = 0;
    const onStart = (tStart: number): void => {
      startMonoMs = tStart;
      pingP = pingProbe(tb, { durationMs: durationMs + 500, intervalMs: sc.pingIntervalMs });
      // retries can outlast dropAtS: an earlier attempt's drop may have fired, restore the rate
      // (re-arming the drop below forgets it)
      if (attempts++ > 0) void t.agent.setRate(sc.rateMbps * 1e6).catch(() => undefined);
      t.armDrop(sc.dropAtS * 1000, droppedRateBps(sc));
    };
    t.tick(1000, () => progress(dropTickLine(withZhuge, `QUIC ${sc.cc}  `, (monoNowMs() - startMonoMs) / 1000, sc)));
    let accept: (() => Promise<boolean>) | undefined;
    const d = t.daemon.proc;
    if (d !== undefined) {
      accept = async () => {
        // a live QUIC flow (packets within the last second); the daemon may lag behind the
        // traffic on a loaded machine, so look three times before giving up on this connection
        for (let i = 0; i < 3; i++) {
          if (await liveQuicFlow(d)) return true;
          await sleep(500);
        }
        progress('with zhuge: the daemon did not pick up this QUIC connection (greased QUIC bit, RFC 9287): new connection');
        return false;
      };
    }
    let dl: QuicDownloadResult;
    let pings: RttSample[];
    try {
      dl = await quicDownload(tb, { durationS: sc.durationS, cc: sc.cc, port: sc.port, onStart, ...(accept !== undefined ? { accept } : {}) });
      pings = pingP !== undefined ? await pingP : [];
    } finally {
      t.stopTimers();
    }
    const dropAtMonoMs = t.dropAtMonoMs();
    if (Number.isNaN(dropAtMonoMs)) throw new Error('the rate drop was not applied');
    if (dl.senderRtt.length === 0) throw new Error(`the QUIC download produced no RTT samples: ${dl.serverStderr} ${dl.clientStderr}`);
    const endMonoMs = Math.min(dl.endMonoMs, startMonoMs + durationMs + 500);
    const metrics = summarizeQuicTrial(pings, dl, dropAtMonoMs, endMonoMs, sc.pingIntervalMs, startMonoMs);
    const daemonStatus = await t.daemon.finish();
    if (withZhuge) {
      const flows = (daemonStatus?.flows ?? []).filter((f) => f.protocol === 'quic');
      const held = heldSummary(flows);
      metrics.zhugeHeldPackets = held.heldPackets;
      metrics.zhugeMeanAddedDelayMs = r2(held.meanAddedDelayMs);
      metrics.zhugeQuicFlows = flows.length;
      metrics.zhugeInternalErrors = daemonStatus?.counters?.internalErrors ?? Number.NaN;
      const deps = daemonStatus?.queueModel?.departures ?? 0;
      metrics.zhugeDeparturesMatchedPct = deps > 0 ? r2((100 * (daemonStatus?.queueModel?.matched ?? 0)) / deps) : Number.NaN;
    }
    const { senderRtt, received, cwndBytes: _cwnd, ...download } = dl;
    void _cwnd;
    return { zhuge: withZhuge, metrics, raw: { pings, senderRtt, received, dropAtMonoMs, startMonoMs, download, daemonStatus } };
  });
}

export interface QuicDropRun {
  scenario: QuicDropScenario;
  runs: QuicTrialResult[];
}

/** `repeat` interleaved pairs: without, with, without, with, ... */
export async function runQuicExperiment(tb: Testbed, sc: QuicDropScenario, repeat: number, progress: Progress = () => {}): Promise<QuicDropRun> {
  return { scenario: sc, runs: await runPairs(repeat, (withZhuge) => runQuicDropTrial(tb, sc, withZhuge, progress)) };
}
