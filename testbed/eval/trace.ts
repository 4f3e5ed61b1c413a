/**
 * The trace-driven experiment: the bottleneck follows a bandwidth trace (a `time_s bandwidth_Mbps`
 * file, testbed/trace.ts, or a Mahimahi packet-delivery trace, converted per 100 ms bin) played
 * in the ap namespace (testbed/player.ts playInAp) while
 *   bbr|cubic  an iperf3 download runs with a 10 ms ping probe (RTT distribution, throughput), or
 *   gcc        a Chromium WebRTC call runs (frame delay distribution, frame rate, bitrate, RTT);
 * each trace without and with zhuge, interleaved, on one testbed per trace (50 ms base RTT).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ackModeYaml, type AckMode, type DaemonStatus } from '../daemon-proc.js';
import { playInAp } from '../player.js';
import { bufferBytesFor, type Testbed } from '../topology.js';
import { parseTrace, truncate, type Schedule } from '../trace.js';
import { iperfDownload, monoNowMs, pingProbe } from '../traffic.js';
import { runTrial } from '../trial.js';
import { summarizeRtc } from '../webrtc/metrics.js';
import { STEADY_START_DEFAULTS, type SteadyStart } from '../webrtc/steady-start.js';
import { runTraceCall, STEADY_LINK_FACTOR, traceCallFirstRateBps } from '../webrtc/trace-call.js';
import { rtpYaml, type ReportTiming } from './drop.js';
import { TrialGuard, withEvalLab } from './lab.js';
import { frameSummary, isMahimahiTrace, mahimahiToSchedule, meanRateBps, r3, rttSummary, type EvalResult, type EvalRun } from './stats.js';

export interface TraceEvalOptions {
  sender: 'gcc' | 'bbr' | 'cubic';
  traces: string[];
  durationS: number;
  repeat: number;
  baseRttMs: number;
  bufferMs: number;
  /** multiply every rate of the trace (e.g. 0.1 to bring a Wi-Fi trace into an RTC call's range) */
  scale: number;
  /** TCP senders: the daemon's feedbackUpdater.mode (absent = its default) */
  ackMode?: AckMode;
  /** gcc: the daemon's flows.rtp.reportTiming (absent: its default) */
  reportTiming?: ReportTiming;
  /**
   * gcc: start the trace from a steady state (steady-start.ts), as the drop does: the link at
   * STEADY_LINK_FACTOR x the cap, the sender capped at this rate (Mbit/s), the trace played once
   * the call has held the cap; the measured window is the trace's duration from there.
   */
  steadyCapMbps?: number;
}

/** Reads a trace file of either format, cut to durationS and scaled. */
export function loadSchedule(path: string, durationS: number, scale = 1): Schedule {
  const text = readFileSync(path, 'utf8');
  const s = truncate(isMahimahiTrace(text) ? mahimahiToSchedule(text, 100) : parseTrace(text), durationS * 1000);
  return { steps: s.steps.map((x) => ({ atMs: x.atMs, rateBps: Math.max(8000, Math.round(x.rateBps * scale)) })), durationMs: s.durationMs };
}

/** The highest rate of a schedule, bit/s. */
export function maxRateBps(s: Schedule): number {
  return s.steps.reduce((a, x) => Math.max(a, x.rateBps), 0);
}

export const TRACE_TCP_LABELS: Array<[string, string]> = [
  ['rttP50Ms', 'ping RTT p50 (ms)'],
  ['rttP95Ms', 'ping RTT p95 (ms)'],
  ['rttP99Ms', 'ping RTT p99 (ms)'],
  ['rttAbove200msShare', 'share of probes with RTT > 200 ms'],
  ['throughputMbps', 'throughput (Mbit/s)'],
  ['capacityMbps', 'mean trace capacity (Mbit/s)'],
  ['zhugeHeldPackets', 'ACKs held by zhuge'],
];

export const TRACE_RTC_LABELS: Array<[string, string]> = [
  ['frameDelayP50Ms', 'frame delay p50 (ms)'],
  ['frameDelayP95Ms', 'frame delay p95 (ms)'],
  ['frameDelayP99Ms', 'frame delay p99 (ms)'],
  ['framesAbove400msShare', 'share of frames > 400 ms'],
  ['presentedFps', 'frame rate (fps)'],
  ['fpsBelow10Seconds', 'time below 10 fps (s)'],
  ['bitrateMbps', 'bitrate (Mbit/s)'],
  ['rttP50Ms', 'RTT p50 (ms)'],
  ['rttAbove200msSeconds', 'time with RTT > 200 ms (s)'],
  ['capacityMbps', 'mean trace capacity (Mbit/s)'],
  ['steadyHeld', 'held the cap before the trace (1 = yes; steady start only)'],
];


/** With zhuge: the packets the daemon held and the TWCC feedback it built, into m. */
function daemonCounters(st: DaemonStatus | undefined, m: Record<string, number>): void {
  m['zhugeHeldPackets'] = (st?.flows ?? []).reduce((a, f) => a + (f.heldTotal ?? 0), 0);
  const built = st?.rtp?.counters?.feedbackBuilt?.twcc;
  if (built !== undefined) m['zhugeFeedbackBuilt'] = built;
  const remb = st?.rtp?.counters?.rembSent;
  if (remb !== undefined) m['zhugeRembSent'] = remb;
}

async function tcpTrial(tb: Testbed, sched: Schedule, o: TraceEvalOptions, zhuge: boolean, progress: (s: string) => void): Promise<Record<string, number>> {
  return runTrial(tb, { withZhuge: zhuge, rateBps: sched.steps[0]?.rateBps ?? 8000, daemon: { extraYaml: ackModeYaml(o.ackMode) } }, async (t) => {
    const durationMs = sched.durationMs;
    const t0 = monoNowMs();
    const play = playInAp(tb, { schedule: sched });
    const pingP = pingProbe(tb, { durationMs, intervalMs: 10 });
    const iperfP = iperfDownload(tb, { durationS: Math.max(1, Math.floor(durationMs / 1000)), cc: o.sender, intervalS: 0.5 });
    t.tick(1000, () => progress(`t=${((monoNowMs() - t0) / 1000).toFixed(0)} s of ${(durationMs / 1000).toFixed(0)} s`));
    // when the trace ends the download's last bytes and iperf3's result exchange must not sit behind
    // a trace's final outage: back to the trace's highest rate
    const played = play.done.then(() => t.agent.setRate(maxRateBps(sched)));
    const [pings, iperf] = await Promise.all([pingP, iperfP, played]).finally(() => t.stopTimers());
    // the first second is the download's start-up; the rest is the trace
    const from = t0 + 1000;
    const after = pings.filter((p) => p.tMs >= from);
    const expected = Math.floor((t0 + durationMs - from) / 10);
    const m = rttSummary(after.map((p) => p.rttMs), Math.max(0, expected - after.length), 10);
    m['throughputMbps'] = r3(iperf.receiverBps / 1e6);
    m['capacityMbps'] = r3(meanRateBps(sched) / 1e6);
    if (zhuge) daemonCounters(await t.daemon.finish(), m);
    return m;
  });
}

async function rtcTrial(tb: Testbed, sched: Schedule, zhuge: boolean, o: TraceEvalOptions, progress: (s: string) => void): Promise<Record<string, number>> {
  const rtp = rtpYaml(o.reportTiming).split('\n').map((l) => `    ${l}`).join('\n');
  const steady: SteadyStart | undefined = o.steadyCapMbps !== undefined ? { ...STEADY_START_DEFAULTS, capBps: o.steadyCapMbps * 1e6 } : undefined;
  const setup = { withZhuge: zhuge, rateBps: traceCallFirstRateBps(sched, steady), daemon: { metricsPort: 9482, extraYaml: `flows:\n  rtp:\n${rtp}` }, settleMs: 0 };
  return runTrial(tb, setup, async (t) => {
    const durationS = sched.durationMs / 1000;
    const t0 = Date.now();
    t.tick(1000, () => progress(`WebRTC call over the trace (${durationS} s), ${((Date.now() - t0) / 1000).toFixed(0)} s since start-up`));
    const { call, fromMonoMs: from, endMonoMs: end, held } = await runTraceCall(tb, sched, steady).finally(() => t.stopTimers());
    const s = summarizeRtc(call, from, end);
    const frames = call.frames.filter((f) => f.tMs >= from && f.tMs < end);
    const m = frameSummary(frames.map((f) => f.delayMs), (end - from) / 1000);
    if (held !== undefined) m['steadyHeld'] = held ? 1 : 0;
    m['fpsBelow10Seconds'] = r3(s.after.fpsBelow10Seconds);
    m['bitrateMbps'] = r3(s.after.bitrateMbps);
    m['rttP50Ms'] = r3(s.after.rttP50Ms);
    m['rttAbove200msSeconds'] = r3(s.after.rttAbove200msSeconds);
    m['freezes'] = s.after.freezes;
    m['capacityMbps'] = r3(meanRateBps(sched) / 1e6);
    if (zhuge) daemonCounters(await t.daemon.finish(), m);
    return m;
  });
}

export async function runTraceEval(o: TraceEvalOptions, progress: (line: string) => void, log: (line: string) => void, onRun: (r: EvalRun) => void = () => undefined): Promise<EvalResult> {
  const runs: EvalRun[] = [];
  const guard = new TrialGuard(log);
  let n = 0;
  const total = o.traces.length * o.repeat * 2;
  for (const path of o.traces) {
    const sched = loadSchedule(path, o.durationS, o.scale);
    const name = basename(path);
    const mean = meanRateBps(sched);
    await withEvalLab({ rateBps: o.steadyCapMbps !== undefined ? o.steadyCapMbps * 1e6 * STEADY_LINK_FACTOR : (sched.steps[0]?.rateBps ?? 8000), bufferBytes: bufferBytesFor(mean, o.bufferMs), baseDelayMsEachWay: o.baseRttMs / 2 }, async (tb) => {
      log(`testbed ${tb.prefix}: trace ${name} (${(sched.durationMs / 1000).toFixed(0)} s, mean ${(mean / 1e6).toFixed(2)} Mbit/s), ${o.baseRttMs} ms base RTT`);
      for (let rep = 0; rep < o.repeat; rep++) {
        for (const zhuge of [false, true]) {
          const tag = `run ${++n}/${total} ${name} rep ${rep + 1} ${zhuge ? 'with' : 'without'}`;
          const p = (msg: string): void => progress(`${tag}  ${msg}`);
          const metrics = await guard.run(tag, async () => {
            if (o.sender !== 'gcc') return tcpTrial(tb, sched, o, zhuge, p);
            const m = await rtcTrial(tb, sched, zhuge, o, p);
            // steady start: a call that never held its cap is tried once more, then kept and marked (steadyHeld 0)
            if (m['steadyHeld'] !== 0) return m;
            log(`${tag}: the call did not hold its cap before the trace; trying once more`);
            return rtcTrial(tb, sched, zhuge, o, p);
          });
          if (metrics === undefined) continue;
          const entry: EvalRun = { zhuge, sender: o.sender, trace: name, rep, metrics };
          runs.push(entry);
          onRun(entry);
          log(
            `${tag}: ` +
              (o.sender === 'gcc'
                ? `frame delay p50/p99 ${metrics['frameDelayP50Ms']}/${metrics['frameDelayP99Ms']} ms, >400 ms ${metrics['framesAbove400msShare']}, ${metrics['bitrateMbps']} Mbit/s`
                : `RTT p50/p95/p99 ${metrics['rttP50Ms']}/${metrics['rttP95Ms']}/${metrics['rttP99Ms']} ms, ${metrics['throughputMbps']} Mbit/s`),
          );
        }
      }
    });
  }
  return {
    experiment: 'trace',
    scenario: { ...o },
    runs,
    metricLabels: o.sender === 'gcc' ? TRACE_RTC_LABELS : TRACE_TCP_LABELS,
    notes: [...(o.scale !== 1 ? [`every trace rate was multiplied by ${o.scale}`] : []), ...guard.notes()],
  };
}
