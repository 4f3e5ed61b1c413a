/**
 * The three modes' UplinkPolicies of one engine, kept across reloads (their shared state and
 * counters live on), and the one place that maps feedbackUpdater.mode to a policy.
 */
import type { AckDelayerConfig, AckDelayMode } from './ack-delayer.js';
import { DrainPolicies, type DrainCounters } from './drain-policy.js';
import { IncrementsPolicies } from './increments-policy.js';
import type { Rng } from './rng.js';
import type { UplinkPolicies } from './uplink-policy.js';
import { WindowPolicies, type WindowCounters } from './window-policy.js';

export class UplinkPolicyModes {
  readonly increments: IncrementsPolicies;
  readonly drain: DrainPolicies;
  readonly window: WindowPolicies;
  private mode: AckDelayMode;

  constructor(config: AckDelayerConfig, rng: Rng, counters: DrainCounters & WindowCounters) {
    this.increments = new IncrementsPolicies(config, rng);
    this.drain = new DrainPolicies(config, counters);
    this.window = new WindowPolicies(config, counters, this.increments);
    this.mode = config.mode ?? 'increments';
  }

  /** The policies new flows get (feedbackUpdater.mode). */
  get current(): UplinkPolicies {
    return this[this.mode];
  }

  /** New flows get the new mode and constants; existing flows keep their policy. */
  reconfigure(config: AckDelayerConfig): void {
    this.mode = config.mode ?? 'increments';
    this.increments.reconfigure(config);
    this.drain.reconfigure(config);
    this.window.reconfigure(config);
  }
}
