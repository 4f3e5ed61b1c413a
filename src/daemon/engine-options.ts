/** The engine's options from the configuration (pure). */
import { defaultFortuneTellerConfig, type FortuneTellerConfig } from '../fortune-teller/index.js';
import type { EngineOptions } from '../engine/options.js';
import type { Config } from '../config/index.js';
import { subnetMatcher } from './subnets.js';

/** Maps the config file's Fortune Teller section onto the algorithm's constants. */
export function fortuneTellerConfigFrom(cfg: Config): FortuneTellerConfig {
  const s = cfg.fortuneTeller;
  return {
    ...defaultFortuneTellerConfig,
    slotUs: s.slotUs,
    windowSlots: Math.max(1, Math.round((s.rateWindowMs * 1000) / s.slotUs)),
    minRateBps: s.minRateBps,
    initialRateBps: s.initialRateBps,
    burstIntervalUs: s.burstWindowMs * 1000,
    aggregationWaitMs: s.stableQueueMs,
    discipline: cfg.queue.discipline,
  };
}

export function engineOptionsFrom(cfg: Config, seed: number): EngineOptions {
  const f = cfg.flows;
  return {
    tcp: { enabled: f.tcp.enabled, ports: f.tcp.ports },
    quic: { enabled: f.quic.enabled, ports: f.quic.ports },
    dscp: f.dscp,
    idleTimeoutMs: f.idleTimeoutMs,
    maxFlows: f.maxFlows,
    queueLimitBytes: cfg.queue.limitBytes,
    perStationQueues: cfg.queue.backend === 'mac80211',
    // drain gates stay within 3/4 of the kernel queue (beyond it new packets would pass unseen)
    maxGatedPackets: Math.floor(cfg.nfqueue.maxLen * 0.75),
    fortuneTeller: fortuneTellerConfigFrom(cfg),
    feedbackUpdater: {
      seed,
      historyMs: cfg.feedbackUpdater.historyMs,
      maxDeltaMs: cfg.feedbackUpdater.maxDeltaMs,
      capMs: cfg.feedbackUpdater.capMs,
      mode: cfg.feedbackUpdater.mode,
      drain: { ...cfg.feedbackUpdater.drain },
      window: { ...cfg.feedbackUpdater.window },
    },
    ...(f.rtp.enabled
      ? {
          rtp: {
            twccExtensionId: f.rtp.twccExtensionId,
            feedbackIntervalMs: f.rtp.feedbackIntervalMs,
            maxTransports: f.rtp.maxTransports,
            srtcpFallback: f.rtp.srtcpFallback,
            reportTiming: f.rtp.reportTiming,
            repairDrops: f.rtp.repairDrops,
            beyondLead: f.rtp.beyondLead,
            maxLeadMs: f.rtp.maxLeadMs,
            reportSpacing: f.rtp.reportSpacing,
            sojournCap: f.rtp.sojournCap,
            signal: f.rtp.signal,
            capRecovery: f.rtp.capRecovery,
            capFloor: f.rtp.capFloor,
            capDelayFrom: f.rtp.capDelayFrom,
            leadEarnedBy: f.rtp.leadEarnedBy,
            unmeasured: f.rtp.unmeasured,
            idleTimeoutMs: f.idleTimeoutMs,
            seed,
          },
        }
      : {}),
  };
}

/** Engine options with the client test of these subnets (none: every destination is a client). */
export function withClients(o: EngineOptions, subnets: readonly string[]): EngineOptions {
  return subnets.length > 0 ? { ...o, isClient: subnetMatcher(subnets) } : o;
}

