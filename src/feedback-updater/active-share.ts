/** ActiveShare: the clamped flows' weighted count for the window clamp (window-clamp.ts). */
/**
 * The weighted count of clamped flows that sent in the last epoch: total bytes / the largest
 * flow's bytes, at least 1. Flows carry their own epoch tag and byte count (FlowShare); the
 * caller adds each downlink data packet with add().
 */
export interface FlowShare {
  shareEpoch: number;
  shareBytes: number;
}

export class ActiveShare {
  private epoch = -1;
  private curTotal = 0;
  private curMax = 0;
  private prevTotal = 0;
  private prevMax = 0;
  private readonly epochUs: number;

  constructor(epochMs = 200) {
    this.epochUs = epochMs * 1000;
  }

  add(tUs: number, flow: FlowShare, bytes: number): void {
    this.roll(tUs);
    if (flow.shareEpoch !== this.epoch) {
      flow.shareEpoch = this.epoch;
      flow.shareBytes = 0;
    }
    flow.shareBytes += bytes;
    this.curTotal += bytes;
    if (flow.shareBytes > this.curMax) this.curMax = flow.shareBytes;
  }

  /**
   * Weighted active flows at tUs (>= 1), of the last full epoch (a partial epoch's few packets
   * say little), or of this one when the last was empty.
   */
  flows(tUs: number): number {
    this.roll(tUs);
    if (this.prevMax > 0) return Math.max(1, this.prevTotal / this.prevMax);
    return this.curMax > 0 ? Math.max(1, this.curTotal / this.curMax) : 1;
  }

  private roll(tUs: number): void {
    const e = Math.floor(tUs / this.epochUs);
    if (e === this.epoch) return;
    if (e === this.epoch + 1) {
      this.prevTotal = this.curTotal;
      this.prevMax = this.curMax;
    } else {
      this.prevTotal = 0;
      this.prevMax = 0;
    }
    this.epoch = e;
    this.curTotal = 0;
    this.curMax = 0;
  }
}
