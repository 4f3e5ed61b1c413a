/**
 * WebRTC bandwidth-drop trials without and with zhuge on one testbed in one run (the RTC demo
 * and the CI end-to-end test). Each trial is a fresh Chromium call (testbed/webrtc) in the trial
 * skeleton (testbed/trial.ts); with zhuge, the daemon runs in the ap namespace for the whole call
 * and rebuilds the transport-wide feedback.
 */
import type { DaemonStatus } from './daemon-proc.js';
import type { Testbed } from './topology.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEvidenceCaptures, writeEvidence } from './webrtc/evidence.js';
import { armLabel, runPairs, runTrial, type Progress, type TrialContext } from './trial.js';
import { rtcCompetitionCall, rtcDropCall, type RtcCompetitionScenario, type RtcDropScenario } from './webrtc/drop.js';
import type { RtcSummary } from './webrtc/metrics.js';
import { STEADY_START_DEFAULTS } from './webrtc/steady-start.js';
import { r2 } from './stats.js';

export interface RtcDemoScenario extends RtcDropScenario {
  baseDelayMsEachWay: number;
}

/**
 * The demo's and CI's call: 3 Mbit/s dropping to 0.3, from a steady state (the sender capped at
 * 1.5 Mbit/s, the drop once the call has held 0.85 of that for 3 s: steady-start.ts), 15 s
 * measured after the drop. dropAtS/durationS are the fallback of callers without `steady`.
 */
export const RTC_SCENARIO: RtcDemoScenario = {
  rateBps: 3e6,
  dropRateBps: 0.3e6,
  dropAtS: 15,
  durationS: 30,
  baseDelayMsEachWay: 20,
  steady: { ...STEADY_START_DEFAULTS, capBps: 1.5e6 },
};

/** The flat per-run metrics of the demo's JSON (units in the names): the summary's after-drop figures, a few before it, and the daemon's. */
export type RtcMetrics = Pick<
  RtcSummary,
  'frameDelayP50Ms' | 'frameDelayP99Ms' | 'frameDelayAbove400msSeconds' | 'fpsBelow10Seconds' | 'bitrateMbps' | 'rttAbove200msSeconds' | 'gccBelowCapacityAfterMs' | 'sendRateBelowCapacityAfterMs'
> & {
  frameDelayBeforeDropP50Ms: number;
  bitrateBeforeDropMbps: number;
  /** the bitrate after the drop over the capacity after it (the sender's video bytes, retransmissions included) */
  bitrateOverCapacity: number;
  /** GCC's target after the drop (its available outgoing bitrate, for every stream and header) over the capacity */
  gccTargetOverCapacity: number;
  /** steady-state drops (scenario.steady): 1 when the call held its cap before the drop, and when the drop came (s after connecting) */
  steadyHeld?: number;
  dropAfterS?: number;
  freezes: number;
  presentedFps: number;
  zhugeFeedbackBuilt?: number;
  zhugeClientFeedbackRemoved?: number;
  /** flows.rtp.signal remb / both: the REMB rate caps (and lifts) zhuge sent */
  zhugeRembSent?: number;
};

export interface RtcRun {
  zhuge: boolean;
  metrics: RtcMetrics;
  summary: RtcSummary;
  daemonStatus?: DaemonStatus | undefined;
}


export function flatten(s: RtcSummary, capacityAfterBps: number): RtcMetrics {
  return {
    bitrateOverCapacity: r2((s.bitrateMbps * 1e6) / capacityAfterBps),
    gccTargetOverCapacity: r2((s.after.availableOutgoingBitrateMeanMbps * 1e6) / capacityAfterBps),
    frameDelayP50Ms: r2(s.frameDelayP50Ms),
    frameDelayP99Ms: r2(s.frameDelayP99Ms),
    frameDelayAbove400msSeconds: r2(s.frameDelayAbove400msSeconds),
    fpsBelow10Seconds: r2(s.fpsBelow10Seconds),
    bitrateMbps: r2(s.bitrateMbps),
    rttAbove200msSeconds: r2(s.rttAbove200msSeconds),
    gccBelowCapacityAfterMs: r2(s.gccBelowCapacityAfterMs),
    sendRateBelowCapacityAfterMs: r2(s.sendRateBelowCapacityAfterMs),
    frameDelayBeforeDropP50Ms: r2(s.before.frameDelayP50Ms),
    bitrateBeforeDropMbps: r2(s.before.bitrateMbps),
    freezes: s.after.freezes,
    presentedFps: r2(s.after.presentedFps),
  };
}

export interface RtcTrialOptions {
  /** a DTLS-SRTP call (encrypted RTCP: the daemon's SRTCP fallback) instead of plaintext */
  encrypted?: boolean;
  /** the daemon's flows.rtp section (YAML, indented under `rtp:`); default `enabled: true` */
  rtpYaml?: string;
  /** save the call's per-packet evidence (captures, packets.tsv, summary.json) in this directory */
  evidenceDir?: string;
}

/**
 * One call (`call`) in the trial skeleton, the bottleneck starting at rateBps and the daemon in
 * the ap namespace when withZhuge (config `extraYaml`); the daemon's TWCC counters join the
 * call's flat metrics.
 */
async function callTrial<R extends { summary: RtcSummary; steady?: { held: boolean; dropAfterS: number } }>(
  tb: Testbed,
  withZhuge: boolean,
  rateBps: number,
  capacityAfterBps: number,
  extraYaml: string,
  call: (t: TrialContext) => Promise<R>,
): Promise<{ r: R; metrics: RtcMetrics; daemonStatus: DaemonStatus | undefined }> {
  return runTrial(tb, { withZhuge, rateBps, daemon: { metricsPort: 9482, extraYaml }, settleMs: 0 }, async (t) => {
    const r = await call(t);
    const metrics = flatten(r.summary, capacityAfterBps);
    if (r.steady !== undefined) {
      metrics.steadyHeld = r.steady.held ? 1 : 0;
      metrics.dropAfterS = r.steady.dropAfterS;
    }
    const daemonStatus = await t.daemon.finish();
    if (withZhuge) {
      const c = daemonStatus?.rtp?.counters;
      metrics.zhugeFeedbackBuilt = c?.feedbackBuilt?.twcc ?? 0;
      metrics.zhugeClientFeedbackRemoved = (c?.clientFeedbackDropped?.twcc ?? 0) + (c?.clientFeedbackRewritten?.twcc ?? 0);
      metrics.zhugeRembSent = c?.rembSent ?? 0;
    }
    return { r, metrics, daemonStatus };
  });
}

export async function runRtcTrial(tb: Testbed, sc: RtcDemoScenario, withZhuge: boolean, progress: Progress = () => {}, opts: RtcTrialOptions = {}): Promise<RtcRun> {
  const yaml = `flows:\n  rtp:\n${(opts.rtpYaml ?? 'enabled: true').split('\n').map((l) => `    ${l}`).join('\n')}`;
  const dir = opts.evidenceDir;
  const { r, metrics, daemonStatus } = await callTrial(tb, withZhuge, sc.rateBps, sc.dropRateBps, yaml, async (t) => {
    const when = sc.steady !== undefined ? `once steady at ${sc.steady.capBps / 1e6} Mbit/s` : `at ${sc.dropAtS} s of ${sc.durationS} s`;
    progress(`${armLabel(withZhuge)}  ${opts.encrypted === true ? 'DTLS-SRTP' : 'WebRTC'} call, ${sc.rateBps / 1e6} -> ${sc.dropRateBps / 1e6} Mbit/s ${when}`);
    if (dir !== undefined) mkdirSync(dir, { recursive: true });
    const caps = dir !== undefined ? await startEvidenceCaptures(tb, dir) : undefined;
    try {
      return await rtcDropCall(tb, t, sc, opts.encrypted === true ? { encrypted: true } : {});
    } finally {
      await caps?.stop();
    }
  });
  if (dir !== undefined) writeEvidence(dir, r.call.offerSdp, daemonStatus?.clock?.wallMinusMonoUs);
  return { zhuge: withZhuge, metrics, summary: r.summary, daemonStatus };
}

/** Interleaved pairs; with evidenceDir, each call's evidence in <evidenceDir>/<pair>-<without|with>. */
export async function runRtcExperiment(tb: Testbed, sc: RtcDemoScenario, repeat: number, progress?: Progress, evidenceDir?: string): Promise<{ scenario: RtcDemoScenario; runs: RtcRun[] }> {
  let n = 0;
  const runs = await runPairs(repeat, (withZhuge) => {
    const pair = Math.floor(n++ / 2);
    const opts: RtcTrialOptions = evidenceDir !== undefined ? { evidenceDir: join(evidenceDir, `${pair}-${withZhuge ? 'with' : 'without'}`) } : {};
    return runRtcTrial(tb, sc, withZhuge, progress, opts);
  });
  return { scenario: sc, runs };
}

/**
 * The paper's competition case on an AP with per-flow fair queues: a WebRTC call on a 3 Mbit/s
 * link, and at 15 s three untreated cubic downloads start, each in a queue of its own
 * (Testbed.perFlowQueues with rtcCompetitionGroups; the call and ping share the default queue).
 * The call's share falls from 3 to 0.75 Mbit/s. With zhuge: queue.discipline fq, RTP treated,
 * TCP not.
 */
export const RTC_COMPETITION_SCENARIO: RtcCompetitionScenario & { baseDelayMsEachWay: number } = {
  rateBps: 3e6,
  durationS: 30,
  bulkAtS: 15,
  bulkFlows: 3,
  bulkCportBase: 5321,
  bulkPortBase: 5231,
  baseDelayMsEachWay: 20,
};

/** The per-flow queues of the competition scenario: one per competing download's sender port. */
export function rtcCompetitionGroups(sc: RtcCompetitionScenario): number[][] {
  return Array.from({ length: sc.bulkFlows }, (_, i) => [sc.bulkCportBase + i]);
}

export interface RtcCompetitionRun extends RtcRun {
  bulkMbps: number[];
}

export async function runRtcCompetition(tb: Testbed, sc: RtcCompetitionScenario, withZhuge: boolean, progress: Progress = () => {}): Promise<RtcCompetitionRun> {
  const yaml = ['queue:', '  discipline: fq', 'flows:', '  tcp:', '    enabled: false', '  rtp:', '    enabled: true'].join('\n');
  // the call's fair share once the downloads run
  const { r, metrics, daemonStatus } = await callTrial(tb, withZhuge, sc.rateBps, sc.rateBps / (sc.bulkFlows + 1), yaml, (t) => {
    progress(`${armLabel(withZhuge)}  WebRTC call, ${sc.bulkFlows} downloads from ${sc.bulkAtS} s of ${sc.durationS} s`);
    return rtcCompetitionCall(tb, t, sc);
  });
  return { zhuge: withZhuge, metrics, summary: r.summary, daemonStatus, bulkMbps: r.bulkMbps };
}
