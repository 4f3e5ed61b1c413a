/**
 * `zhuge demo`'s side-by-side tables (pure): a head line naming the scenario, then one row per
 * metric with one column per trial (without, with, without #2, ...); a row no trial has is left
 * out, NaN reads "never" (the event did not happen in the trial).
 */
import type { DropScenario, PingMetrics, TrialMetrics } from '../experiment.js';
import type { QuicDropScenario, QuicTrialMetrics } from '../quic-experiment.js';
import type { RtcDemoScenario, RtcMetrics } from '../rtc-experiment.js';

/** The demo's JSON (`--json`, summary.json): the scenario and each trial's arm and metrics. */
export interface DemoJson<S = DropScenario, M = TrialMetrics> {
  scenario: S;
  runs: Array<{ zhuge: boolean; metrics: M }>;
  resultsDir: string;
}

export type QuicDemoJson = DemoJson<QuicDropScenario, QuicTrialMetrics>;
export type RtcDemoJson = DemoJson<RtcDemoScenario, RtcMetrics>;

type Rows<K extends string> = ReadonlyArray<readonly [K, string]>;

/** The head line, a blank line, the column titles and one line per metric some run has. */
export function demoTable<K extends string>(head: string, runs: ReadonlyArray<{ zhuge: boolean; metrics: Partial<Record<K, number>> }>, rows: Rows<K>): string {
  const cols = runs.map((r, i) => `${r.zhuge ? 'with' : 'without'}${runs.length > 2 ? ` #${Math.floor(i / 2) + 1}` : ''}`);
  const w = 40;
  const lines = [head, '', `${''.padEnd(w)}${cols.map((c) => c.padStart(12)).join('')}`];
  for (const [key, label] of rows) {
    const vals = runs.map((r) => r.metrics[key]);
    if (vals.every((v) => v === undefined)) continue;
    lines.push(`${label.padEnd(w)}${vals.map((v) => (v === undefined ? '-' : Number.isNaN(v) ? 'never' : String(v)).padStart(12)).join('')}`);
  }
  return lines.join('\n');
}

/** The ping probe's rows, the same in the TCP and QUIC tables. */
const PING_ROWS: Rows<keyof PingMetrics> = [
  ['rttBeforeDropP50Ms', 'ping RTT p50 before the drop (ms)'],
  ['rttP50Ms', 'ping RTT p50 after the drop (ms)'],
  ['rttP95Ms', 'ping RTT p95 after the drop (ms)'],
  ['rttP99Ms', 'ping RTT p99 after the drop (ms)'],
  ['rttAbove200msSeconds', 'time with RTT > 200 ms (s)'],
  ['probesLost', 'ping probes lost after the drop'],
];

const ROWS: Rows<keyof TrialMetrics> = [
  ...PING_ROWS,
  ['ackRttBeforeDropP50Ms', "sender's per-ACK RTT p50 before (ms)"],
  ['ackRttRise5msMs', "sender's RTT +5 ms after the drop (ms)"],
  ['ackRttRise10msMs', "sender's RTT +10 ms after the drop (ms)"],
  ['ackRttRise20msMs', "sender's RTT +20 ms after the drop (ms)"],
  ['ackRttAfterDropP99Ms', "sender's per-ACK RTT p99 after (ms)"],
  ['senderRttRiseMs', "sender's srtt (ss) +20 ms after (ms)"],
  ['senderSrttAfterDropP99Ms', "sender's srtt p99 after the drop (ms)"],
  ['throughputBeforeDropMbps', 'throughput before the drop (Mbit/s)'],
  ['throughputMbps', 'throughput after the drop (Mbit/s)'],
  ['retransmits', 'TCP retransmissions'],
  ['zhugeHeldPackets', 'ACKs held by zhuge'],
  ['zhugeMeanAddedDelayMs', 'mean delay added to a held ACK (ms)'],
  ['zhugeClampedAcks', 'ACKs whose window zhuge lowered'],
];

/** ' + a 10 ms Wi-Fi hop' when the scenario has one (--wifi-hop-ms), else ''. */
function wifiHopText(s: { wifiHopMsEachWay?: number }): string {
  const ms = s.wifiHopMsEachWay ?? 0;
  return ms > 0 ? ` + a ${2 * ms} ms Wi-Fi hop` : '';
}

export function formatTable(o: DemoJson): string {
  const s = o.scenario;
  const head = `${s.cc}, ${s.rateMbps} -> ${s.rateMbps / s.k} Mbit/s at ${s.dropAtS} s, base RTT ${2 * s.baseDelayMsEachWay} ms${wifiHopText(s)}${s.ackMode !== undefined ? `, zhuge feedbackUpdater.mode ${s.ackMode}` : ''}`;
  return demoTable(head, o.runs, ROWS);
}

const RTC_ROWS: Rows<keyof RtcMetrics> = [
  ['frameDelayBeforeDropP50Ms', 'frame delay p50 before the drop (ms)'],
  ['frameDelayP50Ms', 'frame delay p50 after the drop (ms)'],
  ['frameDelayP99Ms', 'frame delay p99 after the drop (ms)'],
  ['frameDelayAbove400msSeconds', 'time with frame delay > 400 ms (s)'],
  ['fpsBelow10Seconds', 'time below 10 fps (s)'],
  ['rttAbove200msSeconds', 'time with RTT > 200 ms (s)'],
  ['gccBelowCapacityAfterMs', 'GCC estimate < capacity after (ms)'],
  ['sendRateBelowCapacityAfterMs', 'send rate < capacity after (ms)'],
  ['bitrateBeforeDropMbps', 'bitrate before the drop (Mbit/s)'],
  ['bitrateMbps', 'bitrate after the drop (Mbit/s)'],
  ['bitrateOverCapacity', 'bitrate after the drop / capacity'],
  ['gccTargetOverCapacity', "GCC's target after the drop / capacity"],
  ['freezes', 'freezes after the drop'],
  ['steadyHeld', 'held the cap before the drop (1 = yes)'],
  ['zhugeFeedbackBuilt', 'TWCC feedback built by zhuge'],
  ['zhugeClientFeedbackRemoved', "client's TWCC removed"],
  ['zhugeRembSent', 'REMB rate caps sent by zhuge'],
];

export function formatRtcTable(o: RtcDemoJson): string {
  const sc = o.scenario;
  const when = sc.steady !== undefined ? `once the call held ${sc.steady.holdFraction} of a ${sc.steady.capBps / 1e6} Mbit/s cap for ${sc.steady.holdS} s, ${sc.steady.afterS} s after` : `at ${sc.dropAtS} s of ${sc.durationS} s`;
  return demoTable(`WebRTC (GCC), ${sc.rateBps / 1e6} -> ${sc.dropRateBps / 1e6} Mbit/s ${when}, base RTT ${2 * sc.baseDelayMsEachWay} ms`, o.runs, RTC_ROWS);
}

const QUIC_ROWS: Rows<keyof QuicTrialMetrics> = [
  ...PING_ROWS,
  ['senderLatestRttBeforeDropMs', "sender's latest_rtt p50 before (ms)"],
  ['senderRttBeforeDropMs', "sender's smoothed_rtt p50 before (ms)"],
  ['senderRttRise5msMs', "sender's RTT +5 ms after the drop (ms)"],
  ['senderRttRise10msMs', "sender's RTT +10 ms after the drop (ms)"],
  ['senderRttRise20msMs', "sender's RTT +20 ms after the drop (ms)"],
  ['senderSrttRise20msMs', "sender's srtt +20 ms after the drop (ms)"],
  ['senderSrttAfterDropP99Ms', "sender's srtt p99 after the drop (ms)"],
  ['throughputBeforeDropMbps', 'throughput before the drop (Mbit/s)'],
  ['throughputMbps', 'throughput after the drop (Mbit/s)'],
  ['zhugeQuicFlows', 'QUIC flows treated by zhuge'],
  ['zhugeHeldPackets', 'QUIC packets held by zhuge'],
  ['zhugeMeanAddedDelayMs', 'mean delay added to a held packet (ms)'],
  ['zhugeDeparturesMatchedPct', "departures zhuge's queue model matched (%)"],
];

export function formatQuicTable(o: QuicDemoJson): string {
  const s = o.scenario;
  return demoTable(`QUIC (ngtcp2 ${s.cc}), ${s.rateMbps} -> ${s.rateMbps / s.k} Mbit/s at ${s.dropAtS} s of ${s.durationS} s, base RTT ${2 * s.baseDelayMsEachWay} ms${wifiHopText(s)}`, o.runs, QUIC_ROWS);
}
