/** Configuration of the in-band RTP feedback path (config key `rtp`, see rtp-feedback.ts). */

export interface RtpFeedbackConfig {
  /** 'auto': detect the transport-wide sequence extension id per transport; a number: use it. */
  twccExtensionId: 'auto' | number;
  /** Interval between two feedback builds of a transport (default 50 ms). */
  feedbackIntervalMs: number;
  /** 'delay': SRTCP transports get the ACK-delay treatment; 'off': left alone. */
  srtcpFallback: 'delay' | 'off';
  /** Zhuge reports (and removes the client's feedback) while a packet was recorded this recently (default 1000). */
  activeWindowMs?: number;
  /** Idle transports are forgotten after this long (default 30000). */
  idleTimeoutMs?: number;
  /** Most transports tracked (default 1024; the least recently used is evicted). */
  maxTransports?: number;
  /** Seed of the pseudo-random sender SSRC / IP ID start (default 1). */
  seed?: number;
  /** Largest feedback RTCP packet (default 1200 bytes). */
  maxFeedbackBytes?: number;
  /**
   * When each packet is reported and at what time (docs/results/rtc-evidence.md):
   * 'departure' (the default): as a FIFO receiver at the AP could have (report-timing.ts:
   * observed departures, queued packets re-predicted at the build within an earned lead bounded
   * by how long a rate lasts on the link, never backwards);
   * 'arrival' (the paper's rule): at arrival + the delay predicted then, recorded at once.
   */
  reportTiming?: 'arrival' | 'departure';
  /**
   * reportTiming 'departure': a packet reported received that the queue then dropped is sent
   * again from zhuge's copy (drop-repair.ts; default true).
   */
  repairDrops?: boolean;
  /**
   * reportTiming 'departure': a queued packet predicted to leave further ahead than the earned
   * lead is reported now at now + lead ('clamp', the default; such packets are stacked at one
   * time), or at a later build, once within it ('defer'). See report-timing.ts, rule 3.
   */
  beyondLead?: 'defer' | 'clamp';
  /**
   * reportTiming 'departure': the longest lead (ms) ahead of the observed departures a queued
   * packet may be reported with (report-timing.ts, rule 5; default 1000). With beyondLead
   * 'defer', the packets further ahead stay unacknowledged at the sender: its congestion window
   * still counts them (docs/results/rtc-evidence.md, sixth round).
   */
  maxLeadMs?: number;
  /**
   * reportTiming 'departure': what earns the lead. 'calm': the time since the last bad prediction
   * (the lead grows 1 ms per ms while nothing goes wrong, even with the queue empty); 'verified':
   * also no more than twice the largest lead a prediction was reported with and came true since
   * (report-timing.ts, rule 5).
   */
  leadEarnedBy?: 'calm' | 'verified' | 'persisted';
  /**
   * reportTiming 'departure': a queued packet while the queue has no measured service rate (no
   * back-to-back departures within the last second: a stall, or a backlog just begun). 'estimate':
   * predicted from the windowed dequeue rate, which a stall itself drags down; 'wait': not
   * reported until it leaves or a service rate is measured (report-timing.ts, rule 3). Default
   * 'wait': docs/results/rtc-evidence.md, fourth round.
   */
  unmeasured?: 'wait' | 'estimate';
  /**
   * reportTiming 'departure': reports bunched by clamping or by never running backwards share one
   * time ('stack') or keep the spacing of the departures they stand for ('link'): report-timing.ts,
   * rule 6. Default 'stack': 'link' was better after a drop and much worse on a fluctuating trace
   * (docs/results/rtc-evidence.md, fifth round).
   */
  reportSpacing?: 'stack' | 'link';
  /** reportTiming 'departure': a reported sojourn bounded by the observed ones ('sojourn') or not ('none'): report-timing.ts, rule 7 */
  sojournCap?: 'none' | 'sojourn';
  /**
   * What zhuge tells the sender (feedback-builder.ts RtpSignal): 'twcc' (the default) its own
   * transport-wide feedback in place of the client's; 'remb' the client's feedback untouched and a
   * REMB rate cap while the Wi-Fi queue stands (remb-cap.ts); 'both' its own feedback and the cap.
   */
  signal?: 'twcc' | 'remb' | 'both';
  /** signal remb / both: how a cap rises once the queue is short (remb-cap.ts RembCapConfig.recovery) */
  capRecovery?: 'doubling' | 'measured' | 'track';
  /** signal remb / both: the deepest a cap goes, a fraction of the flow's share of the rate (remb-cap.ts floorFraction) */
  capFloor?: number;
  /** signal remb / both: where a standing queue's delay and rate come from (remb-cap.ts RembCapConfig.delayFrom) */
  capDelayFrom?: 'estimate' | 'observed';
}

export const RTP_FEEDBACK_DEFAULTS = {
  feedbackIntervalMs: 50,
  activeWindowMs: 1000,
  idleTimeoutMs: 30_000,
  maxTransports: 256,
  seed: 1,
  maxFeedbackBytes: 1200,
  reportTiming: 'departure',
  repairDrops: true,
  beyondLead: 'clamp',
  maxLeadMs: 1000,
  leadEarnedBy: 'calm',
  unmeasured: 'wait',
  reportSpacing: 'stack',
  sojournCap: 'none',
  signal: 'remb',
  capRecovery: 'track',
  capFloor: 0.5, // REMB_CAP_DEFAULTS.floorFraction (remb-cap.ts)
  capDelayFrom: 'observed',
} as const;

/** The configuration with every default filled in, checked (throws RangeError). */
export function resolveRtpFeedbackConfig(c: RtpFeedbackConfig): Required<RtpFeedbackConfig> {
  const ext = c.twccExtensionId;
  if (ext !== 'auto' && !(Number.isInteger(ext) && ext >= 1 && ext <= 255)) {
    throw new RangeError(`RtpFeedback: twccExtensionId must be 'auto' or 1..255 (got ${String(ext)})`);
  }
  const r: Required<RtpFeedbackConfig> = {
    twccExtensionId: ext,
    feedbackIntervalMs: c.feedbackIntervalMs,
    srtcpFallback: c.srtcpFallback,
    activeWindowMs: c.activeWindowMs ?? RTP_FEEDBACK_DEFAULTS.activeWindowMs,
    idleTimeoutMs: c.idleTimeoutMs ?? RTP_FEEDBACK_DEFAULTS.idleTimeoutMs,
    maxTransports: c.maxTransports ?? RTP_FEEDBACK_DEFAULTS.maxTransports,
    seed: c.seed ?? RTP_FEEDBACK_DEFAULTS.seed,
    maxFeedbackBytes: c.maxFeedbackBytes ?? RTP_FEEDBACK_DEFAULTS.maxFeedbackBytes,
    reportTiming: c.reportTiming ?? RTP_FEEDBACK_DEFAULTS.reportTiming,
    repairDrops: c.repairDrops ?? RTP_FEEDBACK_DEFAULTS.repairDrops,
    beyondLead: c.beyondLead ?? RTP_FEEDBACK_DEFAULTS.beyondLead,
    maxLeadMs: c.maxLeadMs ?? RTP_FEEDBACK_DEFAULTS.maxLeadMs,
    reportSpacing: c.reportSpacing ?? RTP_FEEDBACK_DEFAULTS.reportSpacing,
    sojournCap: c.sojournCap ?? RTP_FEEDBACK_DEFAULTS.sojournCap,
    leadEarnedBy: c.leadEarnedBy ?? RTP_FEEDBACK_DEFAULTS.leadEarnedBy,
    unmeasured: c.unmeasured ?? RTP_FEEDBACK_DEFAULTS.unmeasured,
    signal: c.signal ?? RTP_FEEDBACK_DEFAULTS.signal,
    capRecovery: c.capRecovery ?? RTP_FEEDBACK_DEFAULTS.capRecovery,
    capFloor: c.capFloor ?? RTP_FEEDBACK_DEFAULTS.capFloor,
    capDelayFrom: c.capDelayFrom ?? RTP_FEEDBACK_DEFAULTS.capDelayFrom,
  };
  if (!(r.feedbackIntervalMs > 0)) throw new RangeError('RtpFeedback: feedbackIntervalMs must be > 0');
  if (!(r.maxTransports >= 1)) throw new RangeError('RtpFeedback: maxTransports must be >= 1');
  return r;
}
