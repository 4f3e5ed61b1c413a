/**
 * Feedback Updater (pure): delta window + tokens and the ordered release scheduler for
 * out-of-band feedback (TCP ACKs, QUIC), and the TWCC / RFC 8888 feedback recorders for in-band
 * feedback (RTP/RTCP).
 */
export { type Rng, Xoshiro128, seededRng } from './rng.js';
export { DeltaWindow, DELTA_WINDOW_DEFAULTS, type DeltaWindowConfig } from './delta-window.js';
export {
  AckDelayer,
  ReleaseScheduler,
  SCHEDULER_DEFAULTS,
  type AckDelayerConfig,
  type AckDelayMode,
  type ReleaseDecision,
  type ReleaseSchedulerConfig,
} from './scheduler.js';
export { DrainGate, DRAIN_GATE_DEFAULTS, type DrainGateConfig } from './drain-gate.js';
export {
  ActiveShare,
  SynScales,
  WindowClamp,
  WINDOW_CLAMP_DEFAULTS,
  type ClampSkip,
  type FlowShare,
  type WindowClampConfig,
} from './window-clamp.js';
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
