/**
 * FIFO model of ONE queue (a qdisc, or one station's TXQ), rebuilt from two event streams:
 * arrivals (a tap before the queue) and departures (a tap after it), with optional kernel
 * backlog samples to correct drift.
 *
 * Pure: no clock, no I/O. Times are µs on one monotonic clock chosen by the caller; events must
 * be fed in (roughly) non-decreasing time order.
 *
 * Matching. Every packet carries a 32-bit `key` (the daemon hashes header fields that the queue
 * does not change). A departure is matched against the tracked entries from the head (oldest)
 * on; when the match is the k-th entry, the k-1 older unmatched entries are retired as drops:
 * a FIFO never lets a younger packet overtake an older one, so an older entry still present
 * means either its departure event was lost by the tap or the packet was dropped (a bfifo drops
 * at the tail, i.e. at arrival, which the arrival tap still sees).
 *
 * Departure seen before its arrival (the two taps are read by different sockets, their
 * delivery order is not guaranteed): the departure's key is remembered in a small bounded set
 * (`recentDepartureSlots` entries, expiring after `recentDepartureTtlUs`); the later arrival
 * with that key is then not enqueued (the packet is already gone).
 *
 * Memory is bounded: a ring buffer of `capacity` entries (power of two). When full, the oldest
 * entry is evicted (counted in `counters.overflowEvictions`): it is by far the most likely stale
 * one, and a backlog resync restores the byte count if it was not.
 *
 * Kernel backlog resync (`onBacklogSample`): the kernel's qdisc backlog is the truth, the taps
 * can lose events. When |tracked - kernel| exceeds `resyncToleranceBytes` (default two MTUs:
 * the taps and the netlink read are not atomic, a packet or two in flight is normal):
 *  - tracked > kernel: entries are retired from the head (oldest first; in a FIFO the packets
 *    that are really gone are the oldest ones) while that keeps tracked >= kernel, then the
 *    remaining excess is dropped as a negative correction is never kept;
 *  - tracked < kernel: packets we never saw arrive are in the queue. Their position is unknown,
 *    so only their volume is kept, as `untrackedBytes`/`untrackedPackets`, added to the totals.
 *    It is reduced by departures that match no arrival (those are probably the untracked
 *    packets leaving), recomputed at the next sample, and cleared when the kernel says empty.
 *
 * Per-flow fair queues (`discipline: 'fq'`: fq_codel, cake, mac80211's TXQs, an htb class per
 * flow). Every entry also carries its flow's bucket (the caller's flow hash, masked to
 * `flowBuckets`), and the model keeps each bucket's bytes and packets and the number of buckets
 * with packets queued. With 'fifo' every caller passes bucket 0 or any value: the matching rule
 * above holds. With 'fq' only a flow's own packets are in FIFO order: a departure retires the older
 * unmatched entries of its own bucket only, and leaves the other flows' entries, which it may
 * overtake, in place (a matched entry behind the head becomes a dead slot, skipped when it
 * reaches the head).
 */

export interface QueueModelConfig {
  /** Ring capacity in packets; rounded up to a power of two. Default 65536. */
  readonly capacity: number;
  /** Max entries scanned from the head to match a departure. Default 4096. */
  readonly maxMatchScan: number;
  /** Slots in the set of recent unmatched departure keys. Default 64. */
  readonly recentDepartureSlots: number;
  /** An unmatched departure key is forgotten after this long (µs). Default 200 ms. */
  readonly recentDepartureTtlUs: number;
  /** Drift (bytes) tolerated before a backlog sample corrects the model. Default 3000. */
  readonly resyncToleranceBytes: number;
  /** 'fifo' (default): one FIFO. 'fq': per-flow FIFOs served round robin (see the file comment). */
  readonly discipline: 'fifo' | 'fq';
  /** Flow buckets (rounded up to a power of two, at most 65536). Default 1024, fq_codel's. */
  readonly flowBuckets: number;
}

export const defaultQueueModelConfig: QueueModelConfig = Object.freeze({
  capacity: 65536,
  maxMatchScan: 4096,
  recentDepartureSlots: 64,
  recentDepartureTtlUs: 200_000,
  resyncToleranceBytes: 3000,
  discipline: 'fifo',
  flowBuckets: 1024,
});

export interface QueueModelCounters {
  arrivals: number;
  departures: number;
  /** Departures matched to a tracked arrival. */
  matched: number;
  /** Older entries retired when a younger one departed (lost departure event or drop). */
  retiredAsDrop: number;
  /** Departures whose key matched no tracked entry. */
  departuresWithoutArrival: number;
  /** Arrivals not enqueued because their departure had already been seen. */
  arrivalsAfterDeparture: number;
  /** Explicit drops reported through onDrop. */
  drops: number;
  /** Explicit drops whose packet was found and removed. */
  dropsMatched: number;
  /** Backlog samples that changed the model. */
  resyncs: number;
  /** Entries retired by a resync. */
  retiredByResync: number;
  /** Entries evicted because the ring was full. */
  overflowEvictions: number;
}

const FLAG_LIVE = 1;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class QueueModel {
  readonly config: QueueModelConfig;
  readonly counters: QueueModelCounters = {
    arrivals: 0,
    departures: 0,
    matched: 0,
    retiredAsDrop: 0,
    departuresWithoutArrival: 0,
    arrivalsAfterDeparture: 0,
    drops: 0,
    dropsMatched: 0,
    resyncs: 0,
    retiredByResync: 0,
    overflowEvictions: 0,
  };

  private readonly cap: number;
  private readonly mask: number;
  private readonly arrUs: Float64Array;
  private readonly size: Uint32Array;
  private readonly keys: Uint32Array;
  private readonly flags: Uint8Array;
  private readonly bucketOf: Uint16Array;
  private readonly bucketMask: number;
  private readonly bucketBytes: Float64Array;
  private readonly bucketPackets: Uint32Array;
  /** bytes ever added to / removed from each bucket and the whole queue (queue positions) */
  private readonly bucketAdded: Float64Array;
  private readonly bucketRemoved: Float64Array;
  private addedTotal = 0;
  private removedTotal = 0;
  /** bytes ever seen departing, matched or not (what the queue served; drops and resyncs left out) */
  private departedTotal = 0;
  private busyBuckets = 0;
  private readonly fq: boolean;
  /**
   * Called with the key of each packet retired as dropped (an older entry passed over by a
   * matched departure, or removed by a resync): lets the in-band path report it as lost.
   */
  onRetire: ((key: number) => void) | undefined = undefined;
  /** Called with the key and time of each departure matched to its arrival. */
  onMatchedDeparture: ((key: number, tUs: number) => void) | undefined = undefined;
  /**
   * When the last onArrival's packet had already been seen leaving (the departure tap was read
   * first): that departure's time (µs), else -1.
   */
  lastArrivalDepartedUs = -1;
  private head = 0;
  /** Ring entries between head and tail, dead (dropped) ones included. */
  private count = 0;
  private liveCount = 0;
  private trackedBytes = 0;
  private untrackedB = 0;
  private untrackedP = 0;
  private untrackedSinceUs = 0;
  private lastDepUs = -Infinity;

  private readonly depKeys: Uint32Array;
  private readonly depUs: Float64Array;
  private readonly depLive: Uint8Array;
  private depNext = 0;
  private depLiveCount = 0;

  constructor(config: Partial<QueueModelConfig> = {}) {
    this.config = { ...defaultQueueModelConfig, ...config };
    this.cap = nextPow2(Math.max(2, Math.floor(this.config.capacity)));
    this.mask = this.cap - 1;
    this.arrUs = new Float64Array(this.cap);
    this.size = new Uint32Array(this.cap);
    this.keys = new Uint32Array(this.cap);
    this.flags = new Uint8Array(this.cap);
    this.fq = this.config.discipline === 'fq';
    const nb = nextPow2(Math.min(65536, Math.max(1, Math.floor(this.config.flowBuckets))));
    this.bucketMask = nb - 1;
    this.bucketOf = new Uint16Array(this.cap);
    this.bucketBytes = new Float64Array(nb);
    this.bucketPackets = new Uint32Array(nb);
    this.bucketAdded = new Float64Array(nb);
    this.bucketRemoved = new Float64Array(nb);
    const slots = Math.max(1, Math.floor(this.config.recentDepartureSlots));
    this.depKeys = new Uint32Array(slots);
    this.depUs = new Float64Array(slots);
    this.depLive = new Uint8Array(slots);
  }

  /** Bytes believed to be in the queue (tracked entries + untracked volume from resyncs). */
  get bytesInQueue(): number {
    return this.trackedBytes + this.untrackedB;
  }

  get packetsInQueue(): number {
    return this.liveCount + this.untrackedP;
  }

  /** Bytes of untracked packets (known from the kernel backlog only). */
  get untrackedBytes(): number {
    return this.untrackedB;
  }

  /** Bytes of tracked packets of the flow whose hash is `flow` (its bucket's, see the file comment). */
  flowBytes(flow: number): number {
    return this.bucketBytes[flow & this.bucketMask] ?? 0;
  }

  /** Tracked packets of the flow whose hash is `flow` (its bucket's). */
  flowPackets(flow: number): number {
    return this.bucketPackets[flow & this.bucketMask] ?? 0;
  }

  /**
   * The queue position just behind the last tracked arrival: the bytes ever added to the queue (a
   * FIFO) or to the flow's bucket ('fq'). A packet's position taken right after its arrival, less
   * bytesRemoved(flow) later, is the bytes still ahead of it, itself included.
   */
  position(flow = 0): number {
    return this.fq ? (this.bucketAdded[flow & this.bucketMask] ?? 0) : this.addedTotal;
  }

  /** The bytes ever removed (departed, dropped, resynced away) from the queue or the flow's bucket. */
  bytesRemoved(flow = 0): number {
    return this.fq ? (this.bucketRemoved[flow & this.bucketMask] ?? 0) : this.removedTotal;
  }

  /**
   * The bytes ever seen departing the queue, matched to an arrival or not: what it served. Unlike
   * bytesRemoved, drops are not in it: a full FIFO dropping at the arrival rate removes bytes at
   * that rate while serving at the link's.
   */
  get bytesDeparted(): number {
    return this.departedTotal;
  }

  /** Buckets with packets queued: the flows a round-robin scheduler is serving. */
  /**
   * The oldest live entry's match key (-1 when the model holds none) and size: what a departure
   * known only from a counter takes (queue.backend mac80211: a station's TXQ counters).
   */
  get headKey(): number {
    return this.count > 0 ? (this.keys[this.head] ?? 0) : -1;
  }

  get headBytes(): number {
    return this.count > 0 ? (this.size[this.head] ?? 0) : 0;
  }

  get busyFlows(): number {
    return this.busyBuckets;
  }

  /** Ring capacity (packets). */
  get capacity(): number {
    return this.cap;
  }

  /** Time of the last departure (µs), -Infinity before the first one. */
  get lastDepartureUs(): number {
    return this.lastDepUs;
  }

  /** Arrival time of the head-of-line packet, or -1 when nothing is tracked. */
  get headArrivalUs(): number {
    return this.liveCount > 0 ? (this.arrUs[this.head] ?? -1) : -1;
  }

  /**
   * Time the current head-of-line packet became head: max(its arrival, last departure).
   * With only untracked packets queued, the time they were first seen (resync or last
   * departure). -1 when the queue is empty.
   */
  get headSinceUs(): number {
    if (this.liveCount > 0) {
      const a = this.arrUs[this.head] ?? 0;
      return a > this.lastDepUs ? a : this.lastDepUs;
    }
    if (this.untrackedB > 0) {
      return this.untrackedSinceUs > this.lastDepUs ? this.untrackedSinceUs : this.lastDepUs;
    }
    return -1;
  }

  onArrival(tUs: number, bytes: number, key: number, flow = 0): void {
    this.counters.arrivals++;
    const k = key >>> 0;
    this.lastArrivalDepartedUs = -1;
    if (this.depLiveCount > 0 && this.consumeRecentDeparture(tUs, k)) {
      this.counters.arrivalsAfterDeparture++;
      return;
    }
    if (this.count === this.cap) {
      this.evictHead();
      this.counters.overflowEvictions++;
    }
    const i = (this.head + this.count) & this.mask;
    this.arrUs[i] = tUs;
    this.size[i] = bytes;
    this.keys[i] = k;
    this.flags[i] = FLAG_LIVE;
    const b = flow & this.bucketMask;
    this.bucketOf[i] = b;
    const before = this.bucketPackets[b] ?? 0;
    this.bucketPackets[b] = before + 1;
    if (before === 0) this.busyBuckets++;
    this.bucketBytes[b] = (this.bucketBytes[b] ?? 0) + bytes;
    this.bucketAdded[b] = (this.bucketAdded[b] ?? 0) + bytes;
    this.addedTotal += bytes;
    this.count++;
    this.liveCount++;
    this.trackedBytes += bytes;
  }

  /** Returns the matched arrival time (µs), or -1 when the departure matched no arrival. */
  onDeparture(tUs: number, bytes: number, key: number): number {
    this.counters.departures++;
    this.departedTotal += bytes;
    this.lastDepUs = tUs;
    const k = key >>> 0;
    const scan = this.count < this.config.maxMatchScan ? this.count : this.config.maxMatchScan;
    let found = -1;
    for (let j = 0; j < scan; j++) {
      const i = (this.head + j) & this.mask;
      if (this.keys[i] === k && this.flags[i] === FLAG_LIVE) {
        found = i;
        break;
      }
    }
    if (found < 0) {
      this.counters.departuresWithoutArrival++;
      if (this.untrackedB > 0) {
        this.untrackedB = Math.max(0, this.untrackedB - bytes);
        this.untrackedP = this.untrackedB === 0 ? 0 : Math.max(1, this.untrackedP - 1);
      }
      this.rememberDeparture(tUs, k);
      return -1;
    }
    const arrival = this.arrUs[found] ?? -1;
    // the live entries passed over were dropped: every older one in a FIFO, only the flow's own
    // in a per-flow fair queue (another flow's may be overtaken)
    const b = this.bucketOf[found];
    for (let i = this.head; i !== found; i = (i + 1) & this.mask) {
      if (this.flags[i] === FLAG_LIVE && (!this.fq || this.bucketOf[i] === b)) {
        this.counters.retiredAsDrop++;
        this.onRetire?.(this.keys[i] ?? 0);
        this.kill(i);
      }
    }
    this.kill(found);
    this.skipDeadHead();
    this.counters.matched++;
    this.onMatchedDeparture?.(k, tUs);
    return arrival;
  }

  /**
   * Explicit drop. With a key, the newest live entry carrying it is removed (tail drop: it is
   * almost always the last one). Without a key, or when no entry matches, only counted: the
   * drop will be retired at the next matched departure or backlog resync.
   */
  onDrop(_tUs: number, _bytes: number, key?: number): void {
    this.counters.drops++;
    if (key === undefined) return;
    const k = key >>> 0;
    const scan = this.count < this.config.maxMatchScan ? this.count : this.config.maxMatchScan;
    for (let j = this.count - 1; j >= this.count - scan; j--) {
      const i = (this.head + j) & this.mask;
      if (this.keys[i] === k && this.flags[i] === FLAG_LIVE) {
        this.kill(i);
        this.counters.dropsMatched++;
        if (j === this.count - 1) this.count--;
        this.skipDeadHead();
        return;
      }
    }
  }

  /** Kernel backlog sample (bytes, packets) at tUs; see the file comment for the rules. */
  onBacklogSample(tUs: number, bytes: number, packets: number): void {
    const tol = this.config.resyncToleranceBytes;
    const total = this.trackedBytes + this.untrackedB;
    if (bytes === 0 && packets === 0) {
      if (total === 0) return;
      // the kernel says empty: whatever we track has left (or was dropped)
      if (total > tol || this.untrackedB > 0) {
        this.counters.resyncs++;
        while (this.count > 0) {
          if (this.flags[this.head] === FLAG_LIVE) this.counters.retiredByResync++;
          this.evictHead();
        }
        this.untrackedB = 0;
        this.untrackedP = 0;
      }
      return;
    }
    if (total - bytes > tol) {
      this.counters.resyncs++;
      this.untrackedB = 0;
      this.untrackedP = 0;
      while (this.count > 0) {
        const s = this.flags[this.head] === FLAG_LIVE ? (this.size[this.head] ?? 0) : 0;
        if (this.trackedBytes - s < bytes) break;
        if (s > 0) this.counters.retiredByResync++;
        this.evictHead();
      }
    } else if (bytes - total > tol) {
      this.counters.resyncs++;
      if (this.untrackedB === 0) this.untrackedSinceUs = tUs;
      this.untrackedB = bytes - this.trackedBytes;
      this.untrackedP = Math.max(1, packets - this.liveCount);
    }
  }

  /** Removes the live entry at ring index i from the totals (its slot stays, dead). */
  private kill(i: number): void {
    const size = this.size[i] ?? 0;
    this.trackedBytes -= size;
    this.liveCount--;
    this.flags[i] = 0;
    const b = this.bucketOf[i] ?? 0;
    this.bucketRemoved[b] = (this.bucketRemoved[b] ?? 0) + size;
    this.removedTotal += size;
    const left = (this.bucketPackets[b] ?? 1) - 1;
    this.bucketPackets[b] = left;
    if (left === 0) {
      this.busyBuckets--;
      this.bucketBytes[b] = 0; // exact, whatever the float history
    } else this.bucketBytes[b] = (this.bucketBytes[b] ?? 0) - size;
  }

  private evictHead(): void {
    const h = this.head;
    if (this.flags[h] === FLAG_LIVE) this.kill(h);
    this.head = (h + 1) & this.mask;
    this.count--;
    this.skipDeadHead();
  }

  private skipDeadHead(): void {
    while (this.count > 0 && this.flags[this.head] !== FLAG_LIVE) {
      this.head = (this.head + 1) & this.mask;
      this.count--;
    }
    if (this.count === 0) this.trackedBytes = 0; // no float drift possible, but keep exact
  }

  private rememberDeparture(tUs: number, key: number): void {
    const n = this.depKeys.length;
    const i = this.depNext;
    if (this.depLive[i] === 0) this.depLiveCount++;
    this.depKeys[i] = key;
    this.depUs[i] = tUs;
    this.depLive[i] = 1;
    this.depNext = i + 1 === n ? 0 : i + 1;
  }

  private consumeRecentDeparture(tUs: number, key: number): boolean {
    const n = this.depKeys.length;
    const ttl = this.config.recentDepartureTtlUs;
    for (let i = 0; i < n; i++) {
      if (this.depLive[i] === 0) continue;
      if (tUs - (this.depUs[i] ?? 0) > ttl) {
        this.depLive[i] = 0;
        this.depLiveCount--;
        continue;
      }
      if (this.depKeys[i] === key) {
        this.depLive[i] = 0;
        this.depLiveCount--;
        this.lastArrivalDepartedUs = this.depUs[i] ?? tUs;
        return true;
      }
    }
    return false;
  }
}
