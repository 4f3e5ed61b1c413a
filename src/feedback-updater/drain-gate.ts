/**
 * Drain gate: an opt-in out-of-band rule (feedbackUpdater.mode 'drain'; NOT the paper's
 * Algorithm 2) for ACK-clocked senders that do not react to a few milliseconds of extra RTT
 * (Linux bbr v1, cubic).
 *
 * Why: the reference rule delays an ACK by one sampled predicted-delay increment, at most capMs
 * (10 ms). After a 10x bandwidth drop the sender's own RTT samples already rise ~0.9 ms per ms of
 * wall time, so a few early milliseconds change nothing for a sender whose reaction is not
 * delay-driven (docs/results/tcp-drop.md measured exactly that). What such a sender obeys is its
 * ACK clock: it sends as ACKs arrive, within a window it keeps for several round trips (bbr v1:
 * 2 x the old BDP for ~10 rounds; cubic: until a loss). After the drop that window sits in the
 * Wi-Fi queue and delays every flow behind it.
 *
 * The rule, per flow: an ACK-carrying uplink packet passes at once while the Fortune Teller's
 * queue (bytes over dequeue rate, plus the head's wait) is at most closeMs (2 x targetMs) and no
 * earlier packet of the flow is gated. Otherwise it waits in the flow's FIFO; poll() releases the head when the
 * queue is back at or below targetMs, paced so that the bytes the released ACKs acknowledge flow
 * at no more than (1 + catchUp) x the dequeue rate (a reopened gate must not hand a window-limited
 * sender its whole backlog at once: released in one burst, held ACKs look like ACK aggregation
 * to bbr, which grows its window by it), or unconditionally once it waited maxHoldMs. The sender's
 * excess window then waits at the AP as ACKs (~60 bytes each) instead of as data in the Wi-Fi
 * queue, and the sender sees its RTT rise at once, the paper's "shortest control loop" taken
 * literally.
 *
 * Decisions are taken when a packet is released, not when it arrives: a hold computed at arrival
 * acts on the queue one hold plus one round trip later, and in a fluid model and on the testbed
 * that version oscillated between an empty link and the full queue (measured, see
 * docs/results/tcp-drain.md).
 *
 * Limits: the gate only moves the queue of window-limited, ACK-clocked senders; a rate-paced or
 * app-limited flow is slowed only once its window is full. The queue it looks at is the whole
 * AP queue: when untreated flows fill it, a treated flow's ACKs are held (up to maxHoldMs) without
 * draining anything. A target below the flows' base RTT can idle the link for part of each
 * round trip (the gate opens one round trip before the sender's data arrives).
 *
 * Hot path: push/poll are O(1) per packet; the FIFO is a ring that grows by doubling.
 */

export interface DrainGateConfig {
  /** Queueing delay (ms) a reopened gate lets the AP queue refill to (default 50). */
  targetMs?: number;
  /**
   * Queueing delay (ms) above which ACKs start being gated (default 2 x targetMs). The hysteresis
   * keeps the gate out of a sender's normal operation: bbr at 30 Mbit/s and 40 ms keeps ~30-50 ms
   * queued, and a gate closing at 50 ms held its ACKs ~30 ms in steady state.
   */
  closeMs?: number;
  /** Longest time one packet is gated (ms, default 1000). */
  maxHoldMs?: number;
  /** Released ACKs acknowledge at most (1 + catchUp) x the dequeue rate, 0..4 (default 0.1). */
  catchUp?: number;
  /**
   * A closed gate still lets the head packet go when the flow has had nothing released for this
   * long (ms; 0 = never, the default). Meant to keep the sender's retransmission timer (>= 200 ms
   * on Linux) from firing on a gated flow. Measured with bbr (2 pairs, 100 ms): the 2 spurious
   * retransmissions per trial went, but throughput after the drop fell from 2.51-2.53 to
   * 2.34-2.43 Mbit/s and the time above 200 ms rose from 1.34-1.40 to 1.42-1.48 s, hence off.
   */
  keepaliveMs?: number;
}

export const DRAIN_GATE_DEFAULTS = { targetMs: 50, maxHoldMs: 1000, catchUp: 0.1, keepaliveMs: 0 } as const;

/** Bytes an open gate may release in one go beyond the paced rate (two full-size segments' worth of ACKs). */
const BURST_BYTES = 3000;

/** Credit may accumulate over this long (µs) at the paced rate: one poll interval (two let bbr see larger ACK bursts: its window, and the queue after a drop, grew). */
const CAP_WINDOW_US = 1000;

/** A queue holding less than this (ms of data) is taken as empty: the link is idle. */
const EMPTY_QUEUE_MS = 0.5;
/** Extra pacing on an idle link: (1 + catchUp + IDLE_BOOST) x the dequeue rate in all. */
const IDLE_BOOST = 1;

export class DrainGate<T> {
  readonly targetMs: number;
  readonly closeMs: number;
  readonly maxHoldMs: number;
  readonly catchUp: number;
  readonly keepaliveMs: number;
  /** last time a packet of the flow passed or was released (µs) */
  private lastOutTUs = 0;
  private items: Array<T | undefined> = new Array<T | undefined>(8);
  private tUs = new Float64Array(8);
  private bytes = new Float64Array(8);
  private head = 0;
  private count = 0;
  /** pacing credit (bytes), at most BURST_BYTES */
  private credit = BURST_BYTES;
  private creditTUs = 0;
  /** the dequeue rate the last time the queue was not empty */
  private busyRateBps = 0;
  /** packets released through the gate, and of those released by maxHoldMs */
  releasedTotal = 0;
  releasedByCap = 0;

  constructor(config: DrainGateConfig = {}) {
    this.targetMs = config.targetMs ?? DRAIN_GATE_DEFAULTS.targetMs;
    this.closeMs = config.closeMs ?? 2 * this.targetMs;
    if (!(this.closeMs >= this.targetMs)) throw new RangeError('DrainGate: closeMs must be >= targetMs');
    this.maxHoldMs = config.maxHoldMs ?? DRAIN_GATE_DEFAULTS.maxHoldMs;
    this.catchUp = config.catchUp ?? DRAIN_GATE_DEFAULTS.catchUp;
    this.keepaliveMs = config.keepaliveMs ?? DRAIN_GATE_DEFAULTS.keepaliveMs;
    if (!(this.keepaliveMs >= 0)) throw new RangeError('DrainGate: keepaliveMs must be >= 0');
    if (!(this.targetMs >= 0)) throw new RangeError('DrainGate: targetMs must be >= 0');
    if (!(this.maxHoldMs >= 0)) throw new RangeError('DrainGate: maxHoldMs must be >= 0');
    if (!(this.catchUp >= 0 && this.catchUp <= 4)) throw new RangeError('DrainGate: catchUp must be in [0, 4]');
  }

  /** Packets waiting. */
  get size(): number {
    return this.count;
  }

  /** Arrival time (µs) of the oldest waiting packet, or undefined. */
  get oldestTUs(): number | undefined {
    return this.count > 0 ? this.tUs[this.head] : undefined;
  }

  /**
   * An ACK-carrying packet arrived at tUs while the queue holds queueMs: true when it may pass at
   * once (nothing of the flow gated and the queue at or below closeMs); false when it must be
   * gated (then push() it). Pacing applies to the release of a gated backlog only: an open gate
   * never slows the ACK clock (paced there, ACK bursts of a 30 Mbit/s download were held ~30 ms
   * whenever the rate estimate lagged, with the queue far below target).
   */
  tryPass(tUs: number, queueMs: number): boolean {
    if (this.count === 0 && queueMs <= this.closeMs) {
      this.credit = BURST_BYTES;
      this.creditTUs = tUs;
      this.lastOutTUs = tUs;
      this.releasedTotal++;
      return true;
    }
    return false;
  }

  /**
   * Gates a packet (after tryPass said no) that acknowledges `ackedBytes`: it leaves through
   * poll() or flush(), in order.
   */
  push(tUs: number, item: T, ackedBytes: number): void {
    if (this.count === this.items.length) this.grow();
    const i = (this.head + this.count) % this.items.length;
    this.items[i] = item;
    this.tUs[i] = tUs;
    this.bytes[i] = ackedBytes;
    this.count++;
  }

  /** Releases (in order) what may go at tUs; returns the count. */
  poll(tUs: number, queueMs: number, rateBps: number, release: (item: T, arrivalTUs: number) => void): number {
    const idle = queueMs <= EMPTY_QUEUE_MS;
    const open = queueMs <= this.targetMs;
    // an empty queue means the link idles: pace twice as fast (bbr's PROBE_RTT shrinks its window
    // to 4 packets and waits for every gated ACK; at (1 + catchUp) x the rate the link idled ~1 s
    // on the testbed). Never unpaced: ACKs released in one burst look like ACK aggregation to bbr,
    // which grows its window by it (measured: the queue then settled above the one without zhuge).
    // The rate is the one the link had while busy: the dequeue-rate estimate of an idle link lags.
    if (!idle) this.busyRateBps = rateBps;
    else if (this.busyRateBps > rateBps) rateBps = this.busyRateBps;
    this.refill(tUs, rateBps, idle ? IDLE_BOOST : 0);
    const capUs = this.maxHoldMs * 1000;
    const keepaliveUs = this.keepaliveMs * 1000;
    let n = 0;
    while (this.count > 0) {
      const waitedUs = tUs - (this.tUs[this.head] ?? 0);
      const expired = waitedUs >= capUs;
      const keepalive = keepaliveUs > 0 && n === 0 && tUs - this.lastOutTUs >= keepaliveUs && waitedUs >= keepaliveUs;
      if (!expired && !keepalive && !(open && this.credit >= 0)) break;
      this.lastOutTUs = tUs;
      if (expired) this.releasedByCap++;
      n++;
      this.releaseHead(release);
    }
    return n;
  }

  /** Releases up to n of the oldest packets whatever the queue (the caller's bound); returns the count. */
  releaseOldest(n: number, release: (item: T, arrivalTUs: number) => void): number {
    let k = 0;
    for (; this.count > 0 && k < n; k++) this.releaseHead(release);
    return k;
  }

  /** Everything out now, in order (shutdown, flow eviction, mode change). */
  flush(release: (item: T, arrivalTUs: number) => void): number {
    let n = 0;
    for (; this.count > 0; n++) {
      const arrivalTUs = this.tUs[this.head] ?? 0;
      release(this.popHead(), arrivalTUs);
    }
    return n;
  }

  /** The head leaves: its bytes are booked against the pacing credit. */
  private releaseHead(release: (item: T, arrivalTUs: number) => void): void {
    const arrivalTUs = this.tUs[this.head] ?? 0;
    this.credit -= this.bytes[this.head] ?? 0;
    this.releasedTotal++;
    release(this.popHead(), arrivalTUs);
  }

  private popHead(): T {
    const i = this.head;
    const item = this.items[i] as T;
    this.items[i] = undefined;
    this.head = (i + 1) % this.items.length;
    this.count--;
    return item;
  }

  /**
   * Adds the credit earned since the last call; `boost` adds that many extra x the rate. The
   * credit is capped at BURST_BYTES or CAP_WINDOW_US of paced bytes, whichever is more: with a
   * fixed 3000-byte cap a 1 ms poll could never release more than ~24 Mbit/s worth of ACKs, and a
   * gate on a faster link never emptied (bench/engine.ts, 500 Mbit/s: 100 % of the ACKs gated).
   */
  private refill(tUs: number, rateBps: number, boost = 0): void {
    const dt = tUs - this.creditTUs;
    this.creditTUs = tUs;
    if (dt <= 0) return;
    const bytesPerUs = (rateBps * (1 + this.catchUp + boost)) / 8e6;
    const cap = Math.max(BURST_BYTES, bytesPerUs * CAP_WINDOW_US);
    const c = this.credit + dt * bytesPerUs;
    this.credit = c > cap ? cap : c;
  }

  private grow(): void {
    const n = this.items.length;
    const items = new Array<T | undefined>(n * 2);
    const t = new Float64Array(n * 2);
    const b = new Float64Array(n * 2);
    for (let k = 0; k < n; k++) {
      const j = (this.head + k) % n;
      items[k] = this.items[j];
      t[k] = this.tUs[j] ?? 0;
      b[k] = this.bytes[j] ?? 0;
    }
    this.items = items;
    this.tUs = t;
    this.bytes = b;
    this.head = 0;
  }
}
