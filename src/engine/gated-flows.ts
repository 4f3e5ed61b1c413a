/**
 * The flows whose uplink policy gates packets (feedbackUpdater.mode 'drain'), polled together.
 * The packets themselves stay with the caller, in each flow's order: a release names the flow,
 * the caller lets that flow's oldest gated packet go. Gated packets of an evicted flow are
 * named at the next poll (or flush), so none is ever lost.
 */
import type { QueueReadings } from '../feedback-updater/index.js';
import type { Flow } from './flow.js';

/** A gated packet of this flow may leave now (the caller releases the flow's oldest). */
export type GatedRelease = (flow: Flow) => void;

export class GatedFlows {
  private readonly flows = new Set<Flow>();
  /** one entry per gated packet of an evicted flow */
  private orphans: Flow[] = [];
  /** packets in the gates of the flows in `flows` */
  private total = 0;

  constructor(
    private readonly queue: QueueReadings,
    /** each gated packet's added delay (µs) when it leaves by poll */
    private readonly onAddedDelay: (addedUs: number) => void,
  ) {}

  /** Packets gated, evicted flows' included. */
  get packets(): number {
    return this.total + this.orphans.length;
  }

  /** The flow's policy gated one more packet. */
  add(flow: Flow): void {
    this.total++;
    this.flows.add(flow);
  }

  /** The flow left the flow table: its gated packets are named at the next poll. */
  evicted(f: Flow): void {
    if (f.policy.gated === 0) return;
    this.total -= f.policy.flush(() => this.orphans.push(f));
    this.flows.delete(f);
  }

  /**
   * Names the flow of every gated packet that may go at tUs; beyond `max` packets in all the
   * gates, the oldest of each flow go first (the kernel queue must not fill). Returns the count.
   */
  poll(tUs: number, max: number, release: GatedRelease): number {
    let n = this.releaseOrphans(release);
    if (this.flows.size === 0) return n;
    for (const f of this.flows) {
      const onRelease = (arrivalTUs: number): void => {
        const added = tUs - arrivalTUs;
        f.addedDelaySumUs += added;
        if (f.pending > 0) f.pending--;
        this.total--;
        this.onAddedDelay(added);
        release(f);
      };
      n += f.policy.poll(tUs, this.queue, onRelease);
      if (this.total > max) n += f.policy.releaseOldest(this.total - max, onRelease);
      if (f.policy.gated === 0) this.flows.delete(f);
    }
    return n;
  }

  /** Everything out now, in order per flow (shutdown). */
  flush(release: GatedRelease): number {
    let n = this.releaseOrphans(release);
    for (const f of this.flows) {
      n += f.policy.flush(() => {
        if (f.pending > 0) f.pending--;
        release(f);
      });
    }
    this.flows.clear();
    this.total = 0;
    return n;
  }

  private releaseOrphans(release: GatedRelease): number {
    const o = this.orphans;
    if (o.length === 0) return 0;
    this.orphans = [];
    for (const f of o) release(f);
    return o.length;
  }
}
