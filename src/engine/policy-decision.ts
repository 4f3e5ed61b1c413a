/**
 * An uplink policy's decision for one packet turned into the engine's verdict, with the flow's
 * and the engine's bookkeeping (counters, gates, the added-delay observer). Pure.
 */
import type { PolicyDecision } from '../feedback-updater/index.js';
import type { EngineCounters } from './counters.js';
import type { Flow } from './flow.js';
import type { GatedFlows } from './gated-flows.js';
import type { EngineObserver, UplinkDecision } from './options.js';

export function applyPolicyDecision(
  tUs: number,
  flow: Flow,
  d: PolicyDecision,
  payload: Uint8Array,
  out: UplinkDecision,
  c: EngineCounters,
  gates: GatedFlows,
  observer: EngineObserver,
): UplinkDecision {
  switch (d.action) {
    case 'pass':
      c.uplinkPassedAtOnce++;
      observer.onAddedDelay?.(0);
      return out;
    case 'rewrite':
      c.uplinkRewritten++;
      observer.onAddedDelay?.(0);
      out.verdict = 'rewrite';
      out.payload = payload;
      return out;
    case 'gate':
      gates.add(flow);
      break;
    case 'hold': {
      const addedUs = d.releaseUs > tUs ? d.releaseUs - tUs : 0;
      observer.onAddedDelay?.(addedUs);
      // due now and nothing of the flow held: no need to hold it
      if (d.releaseUs <= tUs && flow.pending === 0) {
        c.uplinkPassedAtOnce++;
        return out;
      }
      flow.addedDelaySumUs += addedUs;
      out.releaseUs = d.releaseUs;
      break;
    }
  }
  flow.pending++;
  flow.heldPackets++;
  c.uplinkHeld++;
  out.verdict = d.action;
  return out;
}
