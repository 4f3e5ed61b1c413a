/** Engine options and an uplink decision object shared by the engine tests. */
import { newUplinkDecision, type EngineOptions, type UplinkDecision } from '../../src/engine/options.js';
import { defaultFortuneTellerConfig } from '../../src/fortune-teller/index.js';

/** Every protocol treated on any port, the reference Feedback Updater (seed 1), `over` on top. */
export function engineOptions(over: Partial<EngineOptions> = {}): EngineOptions {
  return {
    tcp: { enabled: true, ports: [] },
    quic: { enabled: true, ports: [] },
    dscp: [],
    idleTimeoutMs: 30_000,
    maxFlows: 1000,
    fortuneTeller: defaultFortuneTellerConfig,
    feedbackUpdater: { seed: 1, historyMs: 40, maxDeltaMs: 10, capMs: 10 },
    ...over,
  };
}

export const newDecision = (): UplinkDecision => newUplinkDecision();
