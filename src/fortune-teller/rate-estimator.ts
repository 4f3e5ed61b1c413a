/**
 * Dequeue-rate estimator on fixed time slots (1 ms by default), after the published Zhuge
 * reference (ns-3, network-queue-zhuge.cc, UpdateTxRate): each slot is classified
 *  - "sending": some bytes left during the slot;
 *  - "busy":    nothing left, but the queue was non-empty at some time in the slot (the channel
 *               was busy or the link stalled) — counted in the denominator: lowers the rate and
 *               raises the per-packet transmission time;
 *  - "idle":    the queue was empty for the whole slot — excluded (an idle link says nothing
 *               about its capacity).
 * rate = 8 * bytes sent over the window / (non-idle slots * slot length), floored.
 * Slow links: a window holding fewer than minWindowPackets departures is stretched back (up to
 *        maxWindowSlots) until it holds that many. At 0.3 Mbit/s a 100 ms window sees ~3
 *        packets; the reference instead floors the rate at 500 kbit/s, which on our testbed made
 *        the predicted delay 0.64x the measured one after a drop to 0.3 Mbit/s (a 1 s queue
 *        predicted as 0.64 s). Stretching also softens a short stall on a fast link: the
 *        window reaches back to the departures before it instead of falling to the floor.
 * tx   = non-idle time over the window / packets sent over the window (the recent mean
 *        time between transmission opportunities; per packet on a serializing link).
 * maxBurstBytes = the most bytes that left within one burst interval (1 ms), over the window:
 *        a burst group starts at a departure and collects every departure within 1 ms of it,
 *        so a frame-aggregation burst straddling a slot boundary is not split.
 *
 * Only closed slots are used: estimates move once per slot, never per packet.
 * When the whole window is idle the previous estimate is kept (as the reference does).
 * All state is preallocated (typed arrays); no allocation per event.
 */

export interface RateEstimatorConfig {
  /** Slot length (µs). Reference: 1 ms. */
  readonly slotUs: number;
  /** Window length in slots. See FortuneTellerConfig.windowSlots for the default's source. */
  readonly windowSlots: number;
  /** Rate floor (bit/s). Reference: 500 << 10 bit/s; our default 64 kbit/s (fortune-teller.ts). */
  readonly minRateBps: number;
  /** Rate assumed before anything was measured (bit/s). */
  readonly initialRateBps: number;
  /** Departures within this long of a burst's first one belong to the burst (µs). 1 ms. */
  readonly burstIntervalUs: number;
  /**
   * Departures closer than this to the previous one (and within burstIntervalUs of the first)
   * form one transmission group (an aggregate handed to the link at once) for tx (µs).
   */
  readonly txGroupGapUs: number;
  /** Fewest departures a rate window must hold; shorter ones are stretched back (default 8). */
  readonly minWindowPackets?: number;
  /** Longest stretched window (slots, default 1000 = 1 s of 1 ms slots). */
  readonly maxWindowSlots?: number;
}

export class RateEstimator {
  readonly config: RateEstimatorConfig;
  private readonly n: number;
  private readonly slotBytes: Float64Array;
  private readonly slotDenomUs: Float64Array;
  private readonly slotPkts: Float64Array;
  private readonly slotGroups: Float64Array;
  private readonly slotArr: Float64Array;
  private readonly slotGroupMax: Float64Array;
  private sumArr = 0;
  private curArr = 0;
  private curGroupMax = 0;
  private maxGroup = 0;
  private groupDirty = false;
  private readonly slotBurst: Float64Array;
  private sumBytes = 0;
  private sumDenomUs = 0;
  private sumPkts = 0;
  private sumGroups = 0;
  private curGroups = 0;
  private groupStartUs = -Infinity;
  private lastDepUs = -Infinity;
  private groupBytes = 0;

  private curSlot = -1;
  private curBytes = 0;
  private curPkts = 0;
  private curBurst = 0;
  private curNonIdle = false;
  private backlogged = false;

  private burstStartUs = -Infinity;
  private burstBytes = 0;

  private rate: number;
  private txUsValue = 0;
  private maxBurst = 0;
  private burstDirty = false;
  private closedSlots = 0;
  // cumulative totals since start, and their values after each of the last L closed slots
  // (ring indexed by slot count): sums over any suffix of up to L - 1 slots in O(1)
  private readonly minPkts: number;
  private readonly L: number;
  private readonly cumBytes: Float64Array;
  private readonly cumDenomUs: Float64Array;
  private readonly cumPkts: Float64Array;
  private readonly cumGroups: Float64Array;
  private totBytes = 0;
  private totDenomUs = 0;
  private totPkts = 0;
  private totGroups = 0;
  private windowUsed = 0;

  constructor(config: RateEstimatorConfig) {
    this.config = config;
    this.n = Math.max(1, Math.floor(config.windowSlots));
    this.minPkts = Math.max(0, config.minWindowPackets ?? 8);
    this.L = Math.max(this.n, Math.floor(config.maxWindowSlots ?? 1000)) + 1;
    this.cumBytes = new Float64Array(this.L);
    this.cumDenomUs = new Float64Array(this.L);
    this.cumPkts = new Float64Array(this.L);
    this.cumGroups = new Float64Array(this.L);
    this.slotBytes = new Float64Array(this.n);
    this.slotDenomUs = new Float64Array(this.n);
    this.slotPkts = new Float64Array(this.n);
    this.slotGroups = new Float64Array(this.n);
    this.slotArr = new Float64Array(this.n);
    this.slotGroupMax = new Float64Array(this.n);
    this.slotBurst = new Float64Array(this.n);
    this.rate = Math.max(config.initialRateBps, config.minRateBps);
  }

  /** Current dequeue-rate estimate (bit/s), never below the floor. */
  get rateBps(): number {
    return this.rate;
  }

  /** Slots the current rate estimate was computed over (windowSlots, or more when stretched). */
  get windowSlotsUsed(): number {
    return this.windowUsed;
  }

  /** Recent mean inter-departure time per packet (µs), busy slots included. */
  get txUs(): number {
    return this.txUsValue;
  }

  /** Most bytes that left within one burst interval over the window (open burst included). */
  get maxBurstBytes(): number {
    if (this.burstDirty) this.recomputeBurst();
    let m = this.maxBurst;
    if (this.curBurst > m) m = this.curBurst;
    if (this.burstBytes > m) m = this.burstBytes;
    return m;
  }

  /** Start (µs) of the latest transmission group, -Infinity before the first departure. */
  get lastGroupStartUs(): number {
    return this.groupStartUs;
  }

  /** Bytes of the latest transmission group. */
  get lastGroupBytes(): number {
    return this.groupBytes;
  }

  /** Largest transmission group (bytes handed to the link at once) over the window. */
  get maxGroupBytes(): number {
    if (this.groupDirty) {
      let m = 0;
      for (let i = 0; i < this.n; i++) {
        const g = this.slotGroupMax[i] ?? 0;
        if (g > m) m = g;
      }
      this.maxGroup = m;
      this.groupDirty = false;
    }
    let m = this.maxGroup;
    if (this.curGroupMax > m) m = this.curGroupMax;
    if (this.groupBytes > m) m = this.groupBytes;
    return m;
  }

  /** Arrival rate over the window (bit/s; all slots, idle ones included). */
  get arrivalRateBps(): number {
    const slots = this.closedSlots < this.n ? this.closedSlots : this.n;
    return slots > 0 ? (this.sumArr * 8e6) / (slots * this.config.slotUs) : 0;
  }

  /** A packet of `bytes` arrived at tUs (for the arrival rate). */
  onArrival(tUs: number, bytes: number): void {
    this.advance(tUs);
    this.curArr += bytes;
  }

  /** Slots closed since start (for warm-up checks). */
  get slotsSeen(): number {
    return this.closedSlots;
  }

  /** Closes every slot that ended at or before tUs. Call before any state change at tUs. */
  advance(tUs: number): void {
    const slot = Math.floor(tUs / this.config.slotUs);
    if (this.curSlot < 0) {
      this.curSlot = slot;
      return;
    }
    if (slot <= this.curSlot) return;
    // close the current slot
    this.closeSlot();
    this.curSlot++;
    // whole slots in between carry the queue state unchanged: busy if backlogged, else idle
    let gap = slot - this.curSlot;
    const keep = this.L - 1;
    if (gap > keep) {
      this.curSlot += gap - keep;
      gap = keep;
    }
    for (let i = 0; i < gap; i++) {
      this.curNonIdle = this.backlogged;
      this.closeSlot();
      this.curSlot++;
    }
    this.curNonIdle = this.backlogged;
  }

  /** Queue occupancy changed (or was re-stated) at tUs. */
  setBacklogged(tUs: number, backlogged: boolean): void {
    this.advance(tUs);
    this.backlogged = backlogged;
    if (backlogged) this.curNonIdle = true;
    else if (this.curBytes === 0 && tUs <= this.curSlot * this.config.slotUs) this.curNonIdle = false;
  }

  /** A packet of `bytes` left the queue at tUs. */
  onDeparture(tUs: number, bytes: number): void {
    this.advance(tUs);
    this.curBytes += bytes;
    this.curPkts++;
    this.curNonIdle = true;
    if (tUs - this.lastDepUs > this.config.txGroupGapUs || tUs - this.groupStartUs >= this.config.burstIntervalUs) {
      this.curGroups++;
      this.groupStartUs = tUs;
      if (this.groupBytes > this.curGroupMax) this.curGroupMax = this.groupBytes;
      this.groupBytes = 0;
    }
    this.groupBytes += bytes;
    this.lastDepUs = tUs;
    if (tUs - this.burstStartUs < this.config.burstIntervalUs) {
      this.burstBytes += bytes;
    } else {
      if (this.burstBytes > this.curBurst) this.curBurst = this.burstBytes;
      this.burstStartUs = tUs;
      this.burstBytes = bytes;
    }
  }

  private closeSlot(): void {
    const i = ((this.curSlot % this.n) + this.n) % this.n;
    // a burst that is over by the end of this slot is booked here; one still open is read live
    const slotEndUs = (this.curSlot + 1) * this.config.slotUs;
    if (this.burstBytes > 0 && slotEndUs - this.burstStartUs >= this.config.burstIntervalUs) {
      if (this.burstBytes > this.curBurst) this.curBurst = this.burstBytes;
      this.burstBytes = 0;
      this.burstStartUs = -Infinity;
    }
    const denom = this.curNonIdle ? this.config.slotUs : 0;
    this.totBytes += this.curBytes;
    this.totDenomUs += denom;
    this.totPkts += this.curPkts;
    this.totGroups += this.curGroups;
    this.sumBytes += this.curBytes - (this.slotBytes[i] ?? 0);
    this.sumDenomUs += denom - (this.slotDenomUs[i] ?? 0);
    this.sumPkts += this.curPkts - (this.slotPkts[i] ?? 0);
    this.sumGroups += this.curGroups - (this.slotGroups[i] ?? 0);
    this.slotGroups[i] = this.curGroups;
    this.curGroups = 0;
    this.sumArr += this.curArr - (this.slotArr[i] ?? 0);
    this.slotArr[i] = this.curArr;
    this.curArr = 0;
    if (this.sumArr < 0.5) this.sumArr = 0;
    const oldGroup = this.slotGroupMax[i] ?? 0;
    this.slotGroupMax[i] = this.curGroupMax;
    if (this.curGroupMax >= this.maxGroup) this.maxGroup = this.curGroupMax;
    else if (oldGroup >= this.maxGroup) this.groupDirty = true;
    this.curGroupMax = 0;
    const oldBurst = this.slotBurst[i] ?? 0;
    this.slotBytes[i] = this.curBytes;
    this.slotDenomUs[i] = denom;
    this.slotPkts[i] = this.curPkts;
    this.slotBurst[i] = this.curBurst;
    if (this.curBurst >= this.maxBurst) this.maxBurst = this.curBurst;
    else if (oldBurst >= this.maxBurst) this.burstDirty = true;
    this.curBytes = 0;
    this.curPkts = 0;
    this.curBurst = 0;
    this.curNonIdle = false;
    this.closedSlots++;
    // sums of floats: guard against drift below zero
    if (this.sumBytes < 0.5) this.sumBytes = 0;
    if (this.sumDenomUs < 0.5) this.sumDenomUs = 0;
    if (this.sumPkts < 0.5) this.sumPkts = 0;
    if (this.sumGroups < 0.5) this.sumGroups = 0;
    const c = this.closedSlots % this.L;
    this.cumBytes[c] = this.totBytes;
    this.cumDenomUs[c] = this.totDenomUs;
    this.cumPkts[c] = this.totPkts;
    this.cumGroups[c] = this.totGroups;
    let bytes = this.sumBytes;
    let denomUs = this.sumDenomUs;
    let groups = this.sumGroups;
    if (this.sumPkts < this.minPkts && this.closedSlots > this.n) this.stretch();
    else this.windowUsed = Math.min(this.n, this.closedSlots);
    if (this.windowUsed > this.n) {
      const k = this.windowUsed;
      bytes = this.totBytes - this.cumAt(k, this.cumBytes);
      denomUs = this.totDenomUs - this.cumAt(k, this.cumDenomUs);
      groups = this.totGroups - this.cumAt(k, this.cumGroups);
    }
    if (denomUs > 0) {
      const r = (bytes * 8 * 1e6) / denomUs;
      this.rate = r > this.config.minRateBps ? r : this.config.minRateBps;
      this.txUsValue = groups > 0 ? denomUs / groups : denomUs;
    }
  }

  /** The cumulative value k slots before the latest closed one (0 before the start). */
  private cumAt(k: number, ring: Float64Array): number {
    const j = this.closedSlots - k;
    return j <= 0 ? 0 : (ring[j % this.L] ?? 0);
  }

  /** Sets windowUsed to the shortest window (> n slots) holding minPkts departures, or the longest kept. */
  private stretch(): void {
    const maxK = Math.min(this.L - 1, this.closedSlots);
    if (this.totPkts - this.cumAt(maxK, this.cumPkts) < this.minPkts) {
      this.windowUsed = maxK;
      return;
    }
    // cumulative counts only grow: the packets in the last k slots grow with k (binary search)
    let lo = this.n; // too few
    let hi = maxK; // enough
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (this.totPkts - this.cumAt(mid, this.cumPkts) >= this.minPkts) hi = mid;
      else lo = mid;
    }
    this.windowUsed = hi;
  }

  private recomputeBurst(): void {
    let m = 0;
    for (let i = 0; i < this.n; i++) {
      const b = this.slotBurst[i] ?? 0;
      if (b > m) m = b;
    }
    this.maxBurst = m;
    this.burstDirty = false;
  }
}
