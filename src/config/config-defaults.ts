/**
 * Every configuration default, in one table. The JSON Schema's `default`s
 * (config/zhuge.schema.json) are generated from it by scripts/gen-config-schema.mjs, and
 * test/config/schema-defaults.test.ts fails when the committed schema differs from the generated
 * one; at run time ajv fills absent keys from those schema defaults (useDefaults).
 *
 * Where a core module already owns a default (the Fortune Teller's slot and window, the Feedback
 * Updater's delta window, scheduler, drain gate and window clamp, the RTP feedback builder's
 * interval), the value is imported from that module, not written again: the operator-facing key
 * and the module then cannot disagree. Only what belongs to the daemon itself (queue resync,
 * flow selection, NFQUEUE, watchdog, metrics, logging) is written here as a literal.
 *
 * `interfaces` has no default (both keys are required), nor have `feedbackUpdater.seed` (absent =
 * random at start) and `feedbackUpdater.drain.closeMs` (absent = 2 x targetMs).
 */
import { RTP_FEEDBACK_DEFAULTS } from '../engine/rtp/rtp-feedback.js';
import { DELTA_WINDOW_DEFAULTS, DRAIN_GATE_DEFAULTS, SCHEDULER_DEFAULTS, WINDOW_CLAMP_DEFAULTS } from '../feedback-updater/index.js';
import { defaultFortuneTellerConfig } from '../fortune-teller/index.js';
import type { Config } from './config.js';

/** Config without the keys that have no default (interfaces, feedbackUpdater.seed, drain.closeMs). */
export type ConfigDefaults = Omit<Config, 'interfaces'>;

type DeepReadonly<T> = T extends readonly (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

const ft = defaultFortuneTellerConfig;

const table: ConfigDefaults = {
  queue: {
    backend: 'qdisc',
    resyncIntervalMs: 100,
    txqPollMs: 5,
    discipline: ft.discipline,
    limitBytes: 0,
    rateFrom: 'measured',
  },
  flows: {
    tcp: { enabled: true, ports: [] },
    quic: { enabled: true, ports: [443] },
    rtp: {
      enabled: true,
      twccExtensionId: 'auto',
      feedbackIntervalMs: RTP_FEEDBACK_DEFAULTS.feedbackIntervalMs,
      maxTransports: RTP_FEEDBACK_DEFAULTS.maxTransports,
      srtcpFallback: 'off',
      reportTiming: RTP_FEEDBACK_DEFAULTS.reportTiming,
      repairDrops: RTP_FEEDBACK_DEFAULTS.repairDrops,
      beyondLead: RTP_FEEDBACK_DEFAULTS.beyondLead,
      maxLeadMs: RTP_FEEDBACK_DEFAULTS.maxLeadMs,
      leadEarnedBy: RTP_FEEDBACK_DEFAULTS.leadEarnedBy,
      unmeasured: RTP_FEEDBACK_DEFAULTS.unmeasured,
      reportSpacing: RTP_FEEDBACK_DEFAULTS.reportSpacing,
      sojournCap: RTP_FEEDBACK_DEFAULTS.sojournCap,
      signal: RTP_FEEDBACK_DEFAULTS.signal,
      capRecovery: RTP_FEEDBACK_DEFAULTS.capRecovery,
      capFloor: RTP_FEEDBACK_DEFAULTS.capFloor,
      capDelayFrom: RTP_FEEDBACK_DEFAULTS.capDelayFrom,
      kernelDrops: true,
    },
    clientSubnets: [],
    dscp: [],
    // one key for the flow table and the RTP transports (the daemon passes it to both)
    idleTimeoutMs: RTP_FEEDBACK_DEFAULTS.idleTimeoutMs,
    maxFlows: 10_000,
  },
  // the operator's units over FortuneTellerConfig (the daemon maps them back: fortuneTellerConfigFrom)
  fortuneTeller: {
    slotUs: ft.slotUs,
    rateWindowMs: (ft.windowSlots * ft.slotUs) / 1000,
    minRateBps: ft.minRateBps,
    initialRateBps: ft.initialRateBps,
    burstWindowMs: ft.burstIntervalUs / 1000,
    stableQueueMs: ft.aggregationWaitMs,
  },
  feedbackUpdater: {
    historyMs: DELTA_WINDOW_DEFAULTS.historyMs,
    maxDeltaMs: DELTA_WINDOW_DEFAULTS.maxDeltaMs,
    capMs: SCHEDULER_DEFAULTS.capMs,
    mode: 'increments',
    drain: {
      targetMs: DRAIN_GATE_DEFAULTS.targetMs,
      maxHoldMs: DRAIN_GATE_DEFAULTS.maxHoldMs,
      catchUp: DRAIN_GATE_DEFAULTS.catchUp,
      keepaliveMs: DRAIN_GATE_DEFAULTS.keepaliveMs,
    },
    window: { targetMs: WINDOW_CLAMP_DEFAULTS.targetMs, minWindowBytes: WINDOW_CLAMP_DEFAULTS.minWindowBytes },
  },
  nfqueue: { queueNum: 7000, maxLen: 4096, failOpen: true, chain: 'ZHUGE', bridgeMark: 0x10000000 },
  watchdog: { stallMs: 200 },
  metrics: { listen: '127.0.0.1:9469' },
  log: { level: 'info', stderrLevel: 'none' },
};

function deepFreeze<T>(v: T): DeepReadonly<T> {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v as DeepReadonly<T>;
}

/** The defaults of every configuration key that has one (frozen). */
export const CONFIG_DEFAULTS: DeepReadonly<ConfigDefaults> = deepFreeze(table);
