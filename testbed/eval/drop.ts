/**
 * The bandwidth-drop experiment (the paper's Fig. 14/15): a steady rate R (default 30 Mbit/s),
 * 50 ms base RTT from the relay, then a drop to R/k; per k, runs without and with zhuge,
 * interleaved (rep 1: k1 without, k1 with, k2 without, ...; rep 2: ...), all on one testbed.
 *
 *   gcc        Chromium WebRTC call (GCC, plaintext RTP/RTCP): testbed/rtc-experiment.ts runRtcTrial
 *              (the daemon with `flows.rtp.enabled: true`)
 *   bbr|cubic  iperf3 download + 10 ms ping probe: testbed/experiment.ts runDropTrial
 *   quic       an ngtcp2 QUIC download + ping probe: testbed/quic-experiment.ts runQuicDropTrial
 *
 * Metrics count from the drop to the end of the trial (the "until convergence" window is the rest
 * of the trial: choose --duration so the sender settles; the presets give it 10-15 s).
 */
import type { AckMode } from '../daemon-proc.js';
import { droppedRateBps, runDropTrial, type DropScenario, type TrialMetrics } from '../experiment.js';
import { runQuicDropTrial, type QuicDropScenario } from '../quic-experiment.js';
import type { QuicCc } from '../quic.js';
import { runRtcTrial, type RtcDemoScenario, type RtcMetrics } from '../rtc-experiment.js';
import { STEADY_START_DEFAULTS } from '../webrtc/steady-start.js';
import { TrialGuard, withEvalLab } from './lab.js';
import { r3, type EvalResult, type EvalRun } from './stats.js';

export const ALL_K = [2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 25, 30, 35, 40, 45, 50] as const;

export interface DropEvalOptions {
  sender: 'gcc' | 'bbr' | 'cubic' | 'quic';
  /** congestion control of the QUIC sender (ngtcp2: cubic, reno, bbr, bbr2) */
  quicCc?: QuicCc;
  rateMbps: number;
  ks: number[];
  durationS: number;
  dropAtS: number;
  repeat: number;
  baseRttMs: number;
  /** bfifo size in ms at the steady rate */
  bufferMs: number;
  /** TCP senders: the daemon's feedbackUpdater.mode (absent: its default, increments) */
  ackMode?: AckMode;
  /** gcc: drop from a steady state, the sender capped at this rate (testbed/webrtc/steady-start.ts) */
  steadyCapMbps?: number;
  /** gcc: the daemon's flows.rtp.reportTiming (absent: its default) */
  reportTiming?: ReportTiming;
}

export type ReportTiming = 'arrival' | 'departure';

/** The daemon's flows.rtp section for a gcc trial (YAML under `rtp:`). */
export function rtpYaml(reportTiming: ReportTiming | undefined): string {
  return `enabled: true${reportTiming !== undefined ? `\nreportTiming: ${reportTiming}` : ''}`;
}

export const DROP_TCP_LABELS: Array<[string, string]> = [
  ['rttAbove200msSeconds', 'time with RTT > 200 ms (s)'],
  ['rttP50Ms', 'ping RTT p50 after the drop (ms)'],
  ['rttP99Ms', 'ping RTT p99 after the drop (ms)'],
  ['throughputBeforeDropMbps', 'throughput before the drop (Mbit/s)'],
  ['throughputMbps', 'throughput after the drop (Mbit/s)'],
  ['ackRttRise20msMs', "sender's RTT +20 ms after the drop (ms)"],
  ['retransmits', 'TCP retransmissions'],
  ['zhugeHeldPackets', 'ACKs held by zhuge'],
];

export const DROP_QUIC_LABELS: Array<[string, string]> = [
  ['rttAbove200msSeconds', 'time with RTT > 200 ms (s)'],
  ['rttP50Ms', 'ping RTT p50 after the drop (ms)'],
  ['rttP99Ms', 'ping RTT p99 after the drop (ms)'],
  ['throughputBeforeDropMbps', 'throughput before the drop (Mbit/s)'],
  ['throughputMbps', 'throughput after the drop (Mbit/s)'],
  ['senderRttRise20msMs', "sender's latest_rtt +20 ms after the drop (ms)"],
  ['zhugeHeldPackets', 'uplink QUIC packets held by zhuge'],
];

export const DROP_RTC_LABELS: Array<[string, string]> = [
  ['frameDelayAbove400msSeconds', 'time with frame delay > 400 ms (s)'],
  ['fpsBelow10Seconds', 'time below 10 fps (s)'],
  ['rttAbove200msSeconds', 'time with RTT > 200 ms (s)'],
  ['frameDelayP50Ms', 'frame delay p50 after the drop (ms)'],
  ['frameDelayP99Ms', 'frame delay p99 after the drop (ms)'],
  ['gccBelowCapacityAfterMs', 'GCC estimate < capacity after (ms)'],
  ['bitrateBeforeDropMbps', 'bitrate before the drop (Mbit/s)'],
  ['bitrateMbps', 'bitrate after the drop (Mbit/s)'],
  ['bitrateOverCapacity', 'bitrate after the drop / capacity'],
  ['gccTargetOverCapacity', "GCC's target after the drop / capacity"],
  ['freezes', 'freezes after the drop'],
  ['steadyHeld', 'held the cap before the drop (1 = yes)'],
  ['zhugeFeedbackBuilt', 'TWCC feedback built by zhuge'],
  ['zhugeRembSent', 'REMB rate caps sent by zhuge'],
];

function numeric(m: TrialMetrics | RtcMetrics | object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[k] = v;
  return out;
}

export function dropNotes(o: DropEvalOptions): string[] {
  const notes: string[] = [];
  if (o.sender === 'gcc') {
    notes.push(
      `Chromium sends at most ~1-2.5 Mbit/s at 640x360, so a ${o.rateMbps} Mbit/s link is not its bottleneck before the drop: ` +
        `the queue only builds when ${o.rateMbps}/k falls below what the call sends` +
        (o.rateMbps >= 10 ? ' (with 30 Mbit/s, k below ~12-20 does not congest the call at all and both arms look alike).' : '.') +
        ' Compare "bitrate before the drop" with rate/k: only points where rate/k is below it congest the call.' +
        ' `--rate-mbit 3` (the quick preset, as `zhuge demo --rtc`) congests it from k = 3 on.',
    );
  } else if (o.sender === 'quic') {
    notes.push(`QUIC: ngtcp2's server in srv (congestion control ${o.quicCc ?? 'cubic'}), the trial runner of testbed/quic-experiment.ts.`);
  } else if (o.ackMode === 'drain') {
    notes.push(
      'The daemon ran with feedbackUpdater.mode drain (ACKs gated while the Wi-Fi queue is above 100 ms, released at 50 ms, each held at most 1 s; not the paper\'s rule): docs/results/tcp-drain.md.',
    );
  } else if (o.ackMode === 'window') {
    notes.push(
      'The daemon ran with feedbackUpdater.mode window (the receive window of TCP ACKs clamped to the predicted rate x (RTT + 50 ms), no ACK delayed; not the paper\'s rule): docs/results/tcp-window.md.',
    );
  } else {
    notes.push('docs/results/tcp-drop.md measured no benefit of zhuge for TCP bbr/cubic downloads on this testbed; read these numbers with that in mind.');
  }
  return notes;
}

export async function runDropEval(o: DropEvalOptions, progress: (line: string) => void, log: (line: string) => void, onRun: (r: EvalRun) => void = () => undefined): Promise<EvalResult> {
  const runs: EvalRun[] = [];
  const guard = new TrialGuard(log);
  const total = o.repeat * o.ks.length * 2;
  const oneWay = o.baseRttMs / 2;
  await withEvalLab({ rateBps: o.rateMbps * 1e6, bufferMs: o.bufferMs, baseDelayMsEachWay: oneWay }, async (tb) => {
    log(`testbed ${tb.prefix}: ${o.rateMbps} Mbit/s, ${o.baseRttMs} ms base RTT, bfifo ${tb.d.bottleneck.bufferBytes} bytes`);
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const k of o.ks) {
        for (const zhuge of [false, true]) {
          const tag = `run ${rep * o.ks.length * 2 + o.ks.indexOf(k) * 2 + (zhuge ? 2 : 1)}/${total} rep ${rep + 1} k=${k} ${zhuge ? 'with' : 'without'}`;
          const p = (msg: string): void => progress(`${tag}  ${msg}`);
          const metrics = await guard.run(tag, async (): Promise<Record<string, number>> => {
            if (o.sender === 'gcc') {
              const sc: RtcDemoScenario = {
                rateBps: o.rateMbps * 1e6,
                dropRateBps: droppedRateBps({ rateMbps: o.rateMbps, k }),
                dropAtS: o.dropAtS,
                durationS: o.durationS,
                baseDelayMsEachWay: oneWay,
                ...(o.steadyCapMbps !== undefined ? { steady: { ...STEADY_START_DEFAULTS, capBps: o.steadyCapMbps * 1e6 } } : {}),
              };
              // the call reports nothing while it runs: a ticker for the progress line
              const t0 = Date.now();
              const phase = `WebRTC call, ${o.rateMbps} -> ${r3(o.rateMbps / k)} Mbit/s ${o.steadyCapMbps !== undefined ? `once steady at ${o.steadyCapMbps} Mbit/s` : `at ${o.dropAtS} s of ${o.durationS} s`}`;
              const ticker = setInterval(() => p(`${phase}, ${((Date.now() - t0) / 1000).toFixed(0)} s since start-up`), 1000);
              try {
                const opts = { rtpYaml: rtpYaml(o.reportTiming) };
                let r = await runRtcTrial(tb, sc, zhuge, () => undefined, opts);
                // a call that never held its cap before the drop is tried once more, then kept and marked (steadyHeld 0)
                if (r.metrics.steadyHeld === 0) {
                  log(`${tag}: the call did not hold its cap before the drop; trying once more`);
                  r = await runRtcTrial(tb, sc, zhuge, () => undefined, opts);
                }
                return numeric(r.metrics);
              } finally {
                clearInterval(ticker);
              }
            } else if (o.sender === 'quic') {
              const sc: QuicDropScenario = { rateMbps: o.rateMbps, k, dropAtS: o.dropAtS, durationS: o.durationS, cc: o.quicCc ?? 'cubic', baseDelayMsEachWay: oneWay, pingIntervalMs: 10, port: 4433 };
              const r = await runQuicDropTrial(tb, sc, zhuge, p);
              return numeric(r.metrics);
            } else {
              const sc: DropScenario = {
                rateMbps: o.rateMbps,
                k,
                dropAtS: o.dropAtS,
                durationS: o.durationS,
                cc: o.sender,
                baseDelayMsEachWay: oneWay,
                pingIntervalMs: 10,
                ...(o.ackMode !== undefined ? { ackMode: o.ackMode } : {}),
              };
              const r = await runDropTrial(tb, sc, zhuge, p);
              return numeric(r.metrics);
            }
          });
          if (metrics === undefined) continue;
          const entry: EvalRun = { zhuge, sender: o.sender, k, rep, metrics };
          runs.push(entry);
          onRun(entry);
          log(`${tag}: ${summaryLine(o.sender, metrics)}`);
        }
      }
    }
  });
  return {
    experiment: 'drop',
    scenario: { ...o },
    runs,
    metricLabels: o.sender === 'gcc' ? DROP_RTC_LABELS : o.sender === 'quic' ? DROP_QUIC_LABELS : DROP_TCP_LABELS,
    notes: [...dropNotes(o), ...guard.notes()],
  };
}

function summaryLine(sender: string, m: Record<string, number>): string {
  const f = (k: string): string => String(m[k] ?? '-');
  return sender === 'gcc'
    ? `frame delay p99 ${f('frameDelayP99Ms')} ms, >400 ms ${f('frameDelayAbove400msSeconds')} s, <10 fps ${f('fpsBelow10Seconds')} s, RTT>200 ${f('rttAbove200msSeconds')} s`
    : `RTT>200 ${f('rttAbove200msSeconds')} s, RTT p99 ${f('rttP99Ms')} ms, throughput ${f('throughputMbps')} Mbit/s`;
}
