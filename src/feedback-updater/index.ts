/**
 * Feedback Updater (pure): for out-of-band feedback (TCP ACKs, QUIC) the uplink policies behind
 * one interface (uplink-policy.ts: the paper's increments rule = delta window + tokens + the
 * ordered release scheduler, the drain gate, the window clamp); for in-band feedback (RTP/RTCP)
 * the TWCC / RFC 8888 feedback recorders.
 */
export { type Rng, Xoshiro128, seededRng } from './rng.js';
export { DeltaWindow, DELTA_WINDOW_DEFAULTS, type DeltaWindowConfig } from './delta-window.js';
export { ReleaseScheduler, SCHEDULER_DEFAULTS, type ReleaseDecision, type ReleaseSchedulerConfig } from './release-scheduler.js';
export { AckDelayer, type AckDelayerConfig, type AckDelayMode } from './ack-delayer.js';
export { DrainGate, DRAIN_GATE_DEFAULTS, type DrainGateConfig } from './drain-gate.js';
export { WindowClamp, WINDOW_CLAMP_DEFAULTS, type ClampSkip, type WindowClampConfig } from './window-clamp.js';
export { ActiveShare, type FlowShare } from './active-share.js';
export { SynScales, type SynScalesConfig } from './syn-scales.js';
export { FqShare, FQ_SHARE_DEFAULTS, type FqShareConfig } from './fq-share.js';
export { SeqTracker, SeqUnwrapper, type SeqRange, type SeqTrackerStats } from './seq-tracker.js';
export {
  TwccRecorder,
  TWCC_RECORDER_DEFAULTS,
  type TwccRecorderConfig,
  type TwccRecorderStats,
} from './twcc-recorder.js';
export {
  CcfbRecorder,
  CCFB_RECORDER_DEFAULTS,
  type CcfbRecorderConfig,
  type CcfbRecorderStats,
} from './ccfb-recorder.js';
export type {
  GateRelease,
  PolicyDecision,
  QueueReadings,
  UplinkPolicies,
  UplinkPolicy,
  UplinkPolicyKind,
  WindowStatus,
} from './uplink-policy.js';
export { IncrementsPolicies, IncrementsPolicy } from './increments-policy.js';
export { DrainPolicies, DrainPolicy, zeroDrainCounters, type DrainCounters } from './drain-policy.js';
export { WindowPolicies, WindowPolicy, zeroWindowCounters, type WindowCounters } from './window-policy.js';
export { UplinkPolicyModes } from './uplink-policy-modes.js';
