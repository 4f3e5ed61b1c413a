/**
 * Mixed-traffic trials on the netns testbed (issue 5, "mixed scenario"), without and with zhuge,
 * on one testbed in one run.
 *
 * Phase 1 (mix): over one steady bottleneck,
 *   - the treated flow: an iperf3 TCP download srv -> cli paced at a fixed rate (`--fq-rate`, a
 *     "real-time-ish" constant-rate TCP flow); its sender binds `treated.cport` (`--cport`) and
 *     zhuge's `flows.tcp.ports` lists only that port (the engine matches the downlink's source
 *     port, i.e. the sender's);
 *   - the competition: an untreated bulk iperf3 TCP download (the paper's "scp" case) that starts
 *     and stops (on `onS`, off `offS`), a new connection each time, from ports zhuge does not list;
 *   - optionally a QUIC download (an injected runner, testbed/quic.ts's quicDownload);
 *   - a ping probe srv -> cli every `pingIntervalMs` and the treated sender's per-ACK RTT
 *     (testbed/rtt-tap.ts on the treated server port).
 * Phase 2 (fairness): two treated greedy TCP downloads share the bottleneck; Jain's index of their
 * received throughputs over the steady part.
 *
 * The summarizers are pure (raw samples in, numbers out) and unit-tested
 * (test/testbed/mixed.test.ts).
 */
import { ackModeYaml, heldSummary, type AckMode, type DaemonStatus } from './daemon-proc.js';
import { quicDownload, type QuicCc } from './quic.js';
import type { Testbed } from './topology.js';
import { iperfDownloadWithArgs, monoNowMs, pingProbe, sleep, startRttTap, type IperfInterval, type IperfResult, type RttSample } from './traffic.js';
import { quantile, r2 } from './stats.js';
import { armLabel, runTrial, type Progress, type TrialOutcome } from './trial.js';

// ---- scenario ------------------------------------------------------------------------------------

/** The part of testbed/quic.ts's QuicDownloadResult the summary reads. */
export interface QuicResultLike {
  senderRtt: Array<{ tMs: number; latestRttMs: number; smoothedRttMs: number }>;
  receivedBytes: number;
  throughputMbps: number;
  startMonoMs: number;
  endMonoMs: number;
}

export interface MixedScenario {
  rateMbps: number;
  durationS: number;
  /** samples before start + warmupS are left out (slow start, connection setup) */
  warmupS: number;
  pingIntervalMs: number;
  /** paceMbps 0 = not paced (a greedy download) */
  treated: { port: number; cport: number; cc: string; paceMbps: number };
  /** untreated on/off bulk download; period i binds cport cportBase + i */
  bulk: { port: number; cportBase: number; cc: string; firstOnS: number; onS: number; offS: number };
  /** a QUIC download (ngtcp2, testbed/quic.ts) for the whole trial; absent = none */
  quic?: { port: number; cc: QuicCc; treated: boolean };
  /** the daemon's feedbackUpdater.mode (absent = its default) */
  ackMode?: AckMode;
  /**
   * The daemon treats the bulk download too, as an AP with the default classifier (every TCP flow
   * of a Wi-Fi client) would; absent/false = only the treated flow (flows.tcp.ports).
   */
  treatBulk?: boolean;
  /**
   * The AP serves its flows from per-flow fair queues (Testbed.perFlowQueues, set by the caller:
   * perFlowGroups below) and the daemon runs with queue.discipline fq.
   */
  perFlowQueues?: boolean;
}

/** The sender-port groups of the scenario's per-flow queues: the treated flow, the bulk periods, QUIC. */
export function perFlowGroups(sc: MixedScenario): number[][] {
  return [[sc.treated.cport], bulkCports(sc), ...(sc.quic !== undefined ? [[sc.quic.port]] : [])];
}

/** The bulk periods' client ports (period i binds cportBase + i, on at firstOnS + i x (onS + offS)): the trial's schedule. */
export function bulkCports(sc: MixedScenario): number[] {
  const out: number[] = [];
  for (let i = 0, at = sc.bulk.firstOnS; at + sc.bulk.onS <= sc.durationS; i++, at += sc.bulk.onS + sc.bulk.offS) out.push(sc.bulk.cportBase + i);
  return out;
}

export const MIXED_SCENARIO: MixedScenario = {
  rateMbps: 20,
  durationS: 20,
  warmupS: 2,
  pingIntervalMs: 10,
  treated: { port: 5201, cport: 5301, cc: 'bbr', paceMbps: 4 },
  bulk: { port: 5202, cportBase: 5310, cc: 'cubic', firstOnS: 3, onS: 3, offS: 3 },
};

/** The same mix with a QUIC download (ngtcp2 bbr, treated) for the whole trial. */
export const MIXED_QUIC_SCENARIO: MixedScenario = { ...MIXED_SCENARIO, quic: { port: 4433, cc: 'bbr', treated: true } };

/**
 * The issue's mix on an AP with per-flow fair queues (fq_codel, cake, mac80211's TXQs): the
 * untreated bulk download and the QUIC download have queues of their own, so their start is a
 * drop of the treated flow's share (20 -> 10 -> 6.7 Mbit/s). The treated flow is a greedy cubic
 * download (a flow paced below its share never queues there); the daemon clamps its window to its
 * fair share (mode window, queue.discipline fq).
 */
export const MIXED_FQ_SCENARIO: MixedScenario = {
  ...MIXED_QUIC_SCENARIO,
  treated: { port: 5201, cport: 5301, cc: 'cubic', paceMbps: 0 },
  ackMode: 'window',
  perFlowQueues: true,
};

export interface FairnessScenario {
  rateMbps: number;
  durationS: number;
  /** the steady part starts this long after the start */
  steadyFromS: number;
  cc: string;
  flows: Array<{ port: number; cport: number }>;
  /** the daemon's feedbackUpdater.mode (absent = its default) */
  ackMode?: AckMode;
}

export const FAIRNESS_SCENARIO: FairnessScenario = {
  rateMbps: 20,
  durationS: 12,
  steadyFromS: 4,
  cc: 'bbr',
  flows: [
    { port: 5203, cport: 5303 },
    { port: 5204, cport: 5304 },
  ],
};

// ---- pure summaries --------------------------------------------------------------------------------



/** Jain's fairness index (Σx)² / (n·Σx²): 1 = equal shares, 1/n = one takes all; NaN when undefined. */
export function jainIndex(xs: readonly number[]): number {
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < 0)) return Number.NaN;
  const sum = xs.reduce((a, x) => a + x, 0);
  const sq = xs.reduce((a, x) => a + x * x, 0);
  return sq === 0 ? Number.NaN : (sum * sum) / (xs.length * sq);
}

/** Mean rate (Mbit/s) of the intervals lying inside [fromMs, toMs] (1 ms slack), weighted by length. */
export function intervalsMbps(ivs: readonly IperfInterval[], fromMs: number, toMs: number): number {
  let bits = 0;
  let ms = 0;
  for (const i of ivs) {
    if (i.startMs < fromMs - 1 || i.endMs > toMs + 1) continue;
    bits += i.bps * ((i.endMs - i.startMs) / 1000);
    ms += i.endMs - i.startMs;
  }
  return ms > 0 ? bits / (ms / 1000) / 1e6 : Number.NaN;
}

/** The time one iperf3 run was on: its spawn until its last receiver interval's end. */
export function onWindow(r: IperfResult): [number, number] {
  const last = r.receiver.at(-1) ?? r.sender.at(-1);
  return [r.startMonoMs, last === undefined ? r.startMonoMs : last.endMs];
}

const inAny = (t: number, ws: ReadonlyArray<readonly [number, number]>, tailMs: number): boolean => ws.some(([a, b]) => t >= a && t < b + tailMs);

/**
 * After a bulk period ends its queue still drains, and the period's computed end is early: iperf3
 * intervals are placed from the client's spawn time, but count from the test start, after the
 * netns exec, process start and control exchange (100-400 ms later on this loaded machine).
 * Measured: the treated flow's RTT stayed high up to ~400 ms after the computed end at light
 * load, so samples this long after a period's end still count as "bulk on".
 */
export const BULK_TAIL_MS = 1000;

export interface MixedRaw {
  startMonoMs: number;
  endMonoMs: number;
  treated: IperfResult;
  treatedAckRtts: RttSample[];
  pings: RttSample[];
  bulk: IperfResult[];
  quic?: QuicResultLike;
}

export interface MixedMetrics {
  /** the treated flow's per-ACK RTT at its sender, after the warm-up */
  treatedAckRttP50Ms: number;
  treatedAckRttP95Ms: number;
  treatedAckRttP99Ms: number;
  /** ... only while the bulk flow is on (until BULK_TAIL_MS after a period) / off */
  treatedAckRttBulkOnP95Ms: number;
  treatedAckRttBulkOffP95Ms: number;
  treatedAckSamples: number;
  /** ping srv -> cli after the warm-up (replies received; `ping -i 0.01` sends fewer than 100/s
   * on a busy machine, so a count of losses is not derived from the interval) */
  pingP50Ms: number;
  pingP95Ms: number;
  pingP99Ms: number;
  pingSamples: number;
  treatedMbps: number;
  /** the bulk flow's received rate while on (all its periods), and per period */
  bulkOnMbps: number;
  bulkPeriodsMbps: number[];
  bulkRetransmits: number;
  quicMbps?: number;
  quicRttP95Ms?: number;
  /** with zhuge: uplink packets held on the treated flows, mean added delay, flows it tracked */
  zhugeHeldPackets?: number;
  zhugeMeanAddedDelayMs?: number;
  zhugeFlows?: string[];
  /** with zhuge and QUIC: whether the daemon tracked the QUIC flow at all */
  zhugeQuicTracked?: boolean;
}

/** Pure: the metrics of one mixed trial from its raw samples. */
export function summarizeMixed(raw: MixedRaw, warmupMs: number): MixedMetrics {
  const from = raw.startMonoMs + warmupMs;
  const to = raw.endMonoMs;
  const windows = raw.bulk.map(onWindow);
  const acks = raw.treatedAckRtts.filter((s) => s.tMs >= from && s.tMs < to);
  const ackMs = acks.map((s) => s.rttMs);
  const onMs = acks.filter((s) => inAny(s.tMs, windows, BULK_TAIL_MS)).map((s) => s.rttMs);
  const offMs = acks.filter((s) => !inAny(s.tMs, windows, BULK_TAIL_MS)).map((s) => s.rttMs);
  const pings = raw.pings.filter((p) => p.tMs >= from && p.tMs < to).map((p) => p.rttMs);
  let bulkBits = 0;
  let bulkMs = 0;
  const periods: number[] = [];
  for (const b of raw.bulk) {
    const [a, e] = onWindow(b);
    const m = intervalsMbps(b.receiver, a, e);
    periods.push(r2(m));
    for (const i of b.receiver) {
      bulkBits += i.bps * ((i.endMs - i.startMs) / 1000);
      bulkMs += i.endMs - i.startMs;
    }
  }
  const out: MixedMetrics = {
    treatedAckRttP50Ms: r2(quantile(ackMs, 0.5)),
    treatedAckRttP95Ms: r2(quantile(ackMs, 0.95)),
    treatedAckRttP99Ms: r2(quantile(ackMs, 0.99)),
    treatedAckRttBulkOnP95Ms: r2(quantile(onMs, 0.95)),
    treatedAckRttBulkOffP95Ms: r2(quantile(offMs, 0.95)),
    treatedAckSamples: ackMs.length,
    pingP50Ms: r2(quantile(pings, 0.5)),
    pingP95Ms: r2(quantile(pings, 0.95)),
    pingP99Ms: r2(quantile(pings, 0.99)),
    pingSamples: pings.length,
    treatedMbps: r2(intervalsMbps(raw.treated.receiver, from, to)),
    bulkOnMbps: r2(bulkMs > 0 ? bulkBits / (bulkMs / 1000) / 1e6 : Number.NaN),
    bulkPeriodsMbps: periods,
    bulkRetransmits: raw.bulk.reduce((a, b) => a + b.sender.reduce((x, i) => x + (i.retransmits ?? 0), 0), 0),
  };
  if (raw.quic !== undefined) {
    out.quicMbps = r2(raw.quic.throughputMbps);
    out.quicRttP95Ms = r2(quantile(raw.quic.senderRtt.filter((s) => s.tMs >= from && s.tMs < to).map((s) => s.latestRttMs), 0.95));
  }
  return out;
}

export interface FairnessMetrics {
  /** each flow's received rate over the steady part */
  flowsMbps: number[];
  jain: number;
  /** the lowest Jain index over 1 s windows of the steady part */
  jainMin1s: number;
}

/** Pure: Jain's index of the flows' received rates over [fromMs, toMs], overall and per 1 s. */
export function summarizeFairness(flows: readonly IperfResult[], fromMs: number, toMs: number): FairnessMetrics {
  const mbps = flows.map((f) => intervalsMbps(f.receiver, fromMs, toMs));
  let min = Number.NaN;
  for (let a = fromMs; a + 1000 <= toMs + 1; a += 1000) {
    const j = jainIndex(flows.map((f) => intervalsMbps(f.receiver, a, a + 1000)));
    if (Number.isFinite(j) && !(j >= min)) min = j;
  }
  return { flowsMbps: mbps.map(r2), jain: Math.round(jainIndex(mbps) * 1000) / 1000, jainMin1s: Math.round(min * 1000) / 1000 };
}

/** Pure: a side-by-side table (one column per trial) of numeric / list metrics. */
export function sideBySide(title: string, columns: ReadonlyArray<{ label: string; metrics: object }>): string {
  const keys: string[] = [];
  for (const c of columns) for (const k of Object.keys(c.metrics)) if (!keys.includes(k) && k !== 'zhugeFlows') keys.push(k);
  const cell = (v: unknown): string => (v === undefined ? '-' : Array.isArray(v) ? v.map(String).join('/') : String(v));
  const w = Math.max(12, ...columns.map((c) => c.label.length + 2), ...columns.flatMap((c) => keys.map((k) => cell((c.metrics as Record<string, unknown>)[k]).length + 2)));
  const lines = [title, 'metric'.padEnd(28) + columns.map((c) => c.label.padStart(w)).join('')];
  for (const k of keys) {
    lines.push(k.padEnd(28) + columns.map((c) => cell((c.metrics as Record<string, unknown>)[k]).padStart(w)).join(''));
  }
  return lines.join('\n');
}

// ---- the runners (root, netns) -----------------------------------------------------------------------


/** With zhuge: what the daemon did on the flows it tracked (undefined status: it did not answer). */
function daemonSummary(st: DaemonStatus | undefined): Pick<MixedMetrics, 'zhugeHeldPackets' | 'zhugeMeanAddedDelayMs' | 'zhugeFlows'> {
  const flows = st?.flows ?? [];
  const held = heldSummary(flows);
  return {
    zhugeHeldPackets: held.heldPackets,
    zhugeMeanAddedDelayMs: r2(held.meanAddedDelayMs),
    zhugeFlows: flows.map((f) => `${f.flow ?? '?'} held=${f.heldTotal ?? 0}${f.window !== undefined ? ` clamped=${f.window.clampedAcks}` : ''}`),
  };
}

export type MixedTrial = TrialOutcome<MixedMetrics, MixedRaw>;

/** One phase-1 trial: treated paced flow + on/off untreated bulk (+ QUIC when sc.quic is set). */
export async function runMixedTrial(tb: Testbed, sc: MixedScenario, withZhuge: boolean, progress: Progress = () => {}): Promise<MixedTrial> {
  const quicYaml = sc.quic?.treated === true ? [`  quic:`, `    ports: [${sc.quic.port}]`] : ['  quic:', '    enabled: false'];
  const tcpPorts = [sc.treated.cport, ...(sc.treatBulk === true ? bulkCports(sc) : [])];
  const queueYaml = sc.perFlowQueues === true ? ['queue:', '  discipline: fq'] : [];
  const extraYaml = [...queueYaml, 'flows:', '  tcp:', `    ports: [${tcpPorts.join(', ')}]`, ...quicYaml, ackModeYaml(sc.ackMode)].join('\n');
  return runTrial(tb, { withZhuge, rateBps: sc.rateMbps * 1e6, daemon: { extraYaml } }, async (t) => {
    const durationMs = sc.durationS * 1000;
    const startMonoMs = monoNowMs();
    const endMonoMs = startMonoMs + durationMs;
    const pingP = pingProbe(tb, { durationMs: durationMs + 300, intervalMs: sc.pingIntervalMs });
    const tap = await startRttTap(tb, sc.treated.port);
    const treatedP = iperfDownloadWithArgs(tb, { durationS: sc.durationS, cc: sc.treated.cc, port: sc.treated.port, intervalS: 0.1 }, [
      '--cport',
      String(sc.treated.cport),
      ...(sc.treated.paceMbps > 0 ? ['--fq-rate', `${sc.treated.paceMbps}M`] : []),
    ]);
    const quicP = sc.quic === undefined ? undefined : quicDownload(tb, { durationS: sc.durationS, cc: sc.quic.cc, port: sc.quic.port });
    const bulkP = (async (): Promise<IperfResult[]> => {
      const out: IperfResult[] = [];
      for (const [i, cport] of bulkCports(sc).entries()) {
        await sleep(startMonoMs + (sc.bulk.firstOnS + i * (sc.bulk.onS + sc.bulk.offS)) * 1000 - monoNowMs());
        progress(`${armLabel(withZhuge)}  t=${((monoNowMs() - startMonoMs) / 1000).toFixed(1)} s  bulk on`);
        out.push(
          await iperfDownloadWithArgs(tb, { durationS: sc.bulk.onS, cc: sc.bulk.cc, port: sc.bulk.port, intervalS: 0.1 }, ['--cport', String(cport)]),
        );
      }
      return out;
    })();
    const [pings, treated, bulk, quicRes] = await Promise.all([pingP, treatedP, bulkP, quicP]);
    const treatedAckRtts = await tap.stop();
    const raw: MixedRaw = { startMonoMs, endMonoMs, treated, treatedAckRtts, pings, bulk };
    if (quicRes !== undefined) raw.quic = quicRes;
    const metrics = summarizeMixed(raw, sc.warmupS * 1000);
    if (withZhuge) {
      Object.assign(metrics, daemonSummary(await t.daemon.finish()));
      if (sc.quic !== undefined) metrics.zhugeQuicTracked = (metrics.zhugeFlows ?? []).some((f) => f.startsWith('udp') && f.includes(`:${sc.quic?.port ?? 0}>`));
    }
    return { zhuge: withZhuge, metrics, raw };
  });
}

export type FairnessTrial = TrialOutcome<FairnessMetrics & Pick<MixedMetrics, 'zhugeHeldPackets' | 'zhugeMeanAddedDelayMs' | 'zhugeFlows'>, { flows: IperfResult[]; startMonoMs: number }>;

/** One phase-2 trial: the flows (all treated with zhuge) download at once for the whole trial. */
export async function runFairnessTrial(tb: Testbed, sc: FairnessScenario, withZhuge: boolean): Promise<FairnessTrial> {
  const extraYaml = ['flows:', '  tcp:', `    ports: [${sc.flows.map((f) => f.cport).join(', ')}]`, '  quic:', '    enabled: false', ackModeYaml(sc.ackMode)].join('\n');
  return runTrial(tb, { withZhuge, rateBps: sc.rateMbps * 1e6, daemon: { extraYaml } }, async (t) => {
    const startMonoMs = monoNowMs();
    const flows = await Promise.all(
      sc.flows.map((f) => iperfDownloadWithArgs(tb, { durationS: sc.durationS, cc: sc.cc, port: f.port, intervalS: 0.1 }, ['--cport', String(f.cport)])),
    );
    // the steady part on the flows' own clock: the later start plus steadyFromS, until the earlier end
    const from = Math.max(...flows.map((f) => f.startMonoMs)) + sc.steadyFromS * 1000;
    const to = Math.min(...flows.map((f) => onWindow(f)[1]));
    const metrics: FairnessTrial['metrics'] = summarizeFairness(flows, from, to);
    if (withZhuge) Object.assign(metrics, daemonSummary(await t.daemon.finish()));
    return { zhuge: withZhuge, metrics, raw: { flows, startMonoMs } };
  });
}

export { quantile };
