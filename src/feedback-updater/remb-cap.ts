/**
 * The rate cap zhuge announces to an RTP sender in a REMB (receiver estimated maximum bitrate)
 * while the Wi-Fi queue holds a standing backlog: one transport's policy, pure (time passed in).
 *
 * Why a cap and not early reports (docs/results/rtc-evidence.md, seventh round): a transport-wide
 * feedback that reports a queued packet early also acknowledges it, and libwebrtc's congestion
 * window (which cuts the encoders to 30 kbit/s while the data sent and not acknowledged exceeds
 * its target x (RTT + 350 ms)) then never engages. A REMB acknowledges nothing: the client's own
 * feedback passes untouched, the sender's delay-based estimate, loss-based estimate and
 * congestion window all keep working, and its target becomes min(its own, the cap) at once.
 *
 * Each build (every feedback interval) with the queue's measured busy service rate R (bit/s,
 * NaN while none is measured) and the backlog delay D = bytes queued x 8 / R:
 *
 *   congested (R known, D > targetMs):
 *       cap = share x R x clamp(1 - (D - targetMs) / drainMs, floorFraction, 1)
 *     share: the transport's part of the backlog (a FIFO serves flows in the proportion they
 *     queue); the factor leaves headroom to drain the standing queue in about drainMs, never
 *     less than floorFraction of the fair rate, never below minBps.
 *   not congested (D <= targetMs, or nothing queued):
 *     a cap grows (doubling every doublingMs: the link served all the sender sent at it, and
 *     more may be there); once it is above four times what the transport sends, it no longer binds
 *     (the sender's own estimate does) and is lifted: one REMB saying "no limit", then none.
 *     With recovery 'measured' it also rises at once to the flow's share of the rate the queue
 *     was last measured to serve (after a short dip, the recovered rate). With 'track' it is that
 *     share of the rate while a rate is measured (the sender held at the link's rate, not lifted
 *     above it by doubling), and doubles only once none is.
 *   R unknown with more than SHORT_BACKLOG_BYTES queued (a stall, a backlog just begun): the
 *   cap stays as it is. (With a packet or two queued the queue is short, rate known or not: on
 *   pitree4g_9 a cap set at the end of an outage was held for 3 s while the link, 7x faster
 *   again, served the capped call without one back-to-back departure to measure.)
 *
 * While capped the REMB is repeated every build (a lost one is replaced 50 ms later); the lift is
 * sent LIFT_REPEATS times.
 */

export interface RembCapConfig {
  /** backlog delay above which the queue counts as standing (ms) */
  targetMs: number;
  /** horizon over which a standing queue's excess is to be drained (ms) */
  drainMs: number;
  /** the cap never goes below this fraction of the transport's fair rate */
  floorFraction: number;
  /** a cap grows x2 per this long while the queue stays short (ms) */
  doublingMs: number;
  /** the cap never goes below this (bit/s; libwebrtc's own floor is 30 kbit/s) */
  minBps: number;
  /**
   * once the queue is short: 'doubling' only, or 'measured': also at once up to the flow's last
   * share of the rate the queue was last measured to serve (a dip over, the link's recovered rate
   * shows in the departures that drain it; after a lasting drop the rate measured stays low), or
   * 'track': while the queue's rate is measured (back-to-back departures within the last second)
   * the cap is the flow's share of it, up or down, with no doubling; doubling only once no rate
   * is measured (the link serves the call without a queue)
   */
  recovery: 'doubling' | 'measured' | 'track';
  /**
   * where the backlog's delay and rate come from: 'estimate', the busy service rate R (back-to-back
   * departures, a stall left out as an outlier) and D = backlog / R; 'observed', also what the
   * queue did: D at least the head-of-line packet's wait so far, and the rate at most the one the
   * queue drained at over the last DRAIN_TAU_MS while backlogged, stalls included. On a link that
   * serves in bursts between stalls R is the bursts' rate, and D from it was below 50 ms while
   * packets waited 500 ms (docs/results/rtc-evidence.md, tenth round)
   */
  delayFrom: 'estimate' | 'observed';
}

/**
 * The defaults, from the mechanism, not from a trace: 50 ms is one feedback interval and 1.5
 * frame intervals at 30 fps, longer than the burst of one paced frame on a link faster than the
 * call; 500 ms drains a standing queue well within the 400 ms-class frame delays that freeze a
 * call's playout while cutting the sender by at most half; doubling every 250 ms brings a call
 * capped at a short dip back to 4x in half a second. The delay observed and the cap tracking the
 * measured rate (not the busy-rate estimate and doubling): chosen on the drop sweep and six trace
 * files of three families, two of them never looked at before (docs/results/rtc-evidence.md,
 * tenth and eleventh rounds); the other values stay options.
 */
export const REMB_CAP_DEFAULTS: Readonly<RembCapConfig> = Object.freeze({
  targetMs: 50,
  drainMs: 500,
  floorFraction: 0.5,
  doublingMs: 250,
  minBps: 30_000,
  recovery: 'track',
  delayFrom: 'observed',
});

/** the time constant of the drained-rate average (ms): a few of a trace's 100 ms steps */
export const DRAIN_TAU_MS = 500;

/**
 * A backlog this small is no standing queue, rate measured or not: a link that serves a call
 * far below its rate has no back-to-back departures to measure, and one packet is always in
 * service (two full-size packets).
 */
export const SHORT_BACKLOG_BYTES = 3000;

/** how many times the lift ("no limit") is sent */
export const LIFT_REPEATS = 3;

/** What the queue looks like at a build, for one transport. */
export interface CapQueueSample {
  /** the queue's measured busy service rate (bit/s); NaN or 0: none measured */
  serviceRateBps: number;
  /** bytes queued ahead of a new packet of this transport (a FIFO: all flows'; per-flow queues: its own x the flows served) */
  backlogBytes: number;
  /** the transport's part of the service rate (0..1): a FIFO's, its part of the bytes queued; round robin's, 1 / the flows served */
  share: number;
  /** how long the packet at the head of the queue has waited (µs; 0: nothing queued or unknown) */
  headAgeUs: number;
  /**
   * bytes ever seen departing the queue (NaN: unknown). Departures only: a full FIFO also loses
   * bytes to drops at the arrival rate, and a drained rate that counted them read the arrival
   * rate, above the link's (a replayed call at 1.5 Mbit/s into a 1 Mbit/s link got caps of 1.5)
   */
  departedBytes: number;
}

export class RembCap {
  /** the cap in force (bit/s); +Infinity: none */
  capBps = Number.POSITIVE_INFINITY;
  /** lift REMBs still to send */
  private liftsLeft = 0;
  private lastUs = Number.NaN;
  /** the flow's share of the queue at the last standing build */
  private lastShare = 1;
  /** times the cap was set from a standing queue, and lifted */
  engaged = 0;
  lifted = 0;
  /** 'observed': the rate the queue drained at while backlogged (bit/s, NaN until measured), and the last build's sample */
  private drainedBps = Number.NaN;
  private lastDeparted = Number.NaN;
  private lastBacklog = 0;

  constructor(private readonly cfg: RembCapConfig = REMB_CAP_DEFAULTS) {}

  /**
   * One build at tUs: the queue as it is now and the transport's arrival rate at the AP since
   * the last build (bit/s). Returns the bitrate to announce now (+Infinity: the lift), or NaN
   * for no REMB this build.
   */
  update(tUs: number, q: CapQueueSample, flowArrivalBps: number): number {
    const c = this.cfg;
    const dtMs = Number.isFinite(this.lastUs) ? Math.max(0, (tUs - this.lastUs) / 1000) : 0;
    this.lastUs = tUs;
    let rate = q.serviceRateBps > 0 ? q.serviceRateBps : Number.NaN;
    let delayMs = rate > 0 ? (q.backlogBytes * 8000) / rate : Number.NaN;
    if (c.delayFrom === 'observed') {
      this.observeDrain(dtMs, q);
      if (this.drainedBps > 0 && !(rate <= this.drainedBps)) rate = this.drainedBps;
      const headMs = q.headAgeUs / 1000;
      delayMs = Math.max(rate > 0 ? (q.backlogBytes * 8000) / rate : 0, headMs > 0 ? headMs : 0);
    }
    if (delayMs > c.targetMs && rate > 0) {
      const share = Math.min(1, Math.max(0, q.share));
      const factor = Math.min(1, Math.max(c.floorFraction, 1 - (delayMs - c.targetMs) / c.drainMs));
      const cap = Math.max(c.minBps, share * rate * factor);
      this.lastShare = share;
      if (!Number.isFinite(this.capBps)) this.engaged++;
      this.capBps = cap;
      this.liftsLeft = 0;
      return cap;
    }
    if (!(rate > 0) && q.backlogBytes > SHORT_BACKLOG_BYTES) {
      // no rate measured with more than a packet or two queued (a stall): hold what is in force
      return Number.isFinite(this.capBps) ? this.capBps : this.nextLift();
    }
    if (Number.isFinite(this.capBps)) {
      if (c.recovery === 'track' && rate > 0) this.capBps = Math.max(c.minBps, this.lastShare * rate);
      else this.capBps *= 2 ** (dtMs / c.doublingMs);
      if (c.recovery === 'measured' && rate > 0) this.capBps = Math.max(this.capBps, this.lastShare * rate);
      if (this.capBps > 4 * flowArrivalBps) {
        this.capBps = Number.POSITIVE_INFINITY;
        this.lifted++;
        this.liftsLeft = LIFT_REPEATS;
        return this.nextLift();
      }
      return this.capBps;
    }
    return this.nextLift();
  }

  /** The rate the queue drained at over the last interval, averaged while it stayed backlogged. */
  private observeDrain(dtMs: number, q: CapQueueSample): void {
    const departed = q.departedBytes;
    if (dtMs > 0 && this.lastBacklog > 0 && q.backlogBytes > 0 && departed >= this.lastDeparted) {
      const sample = ((departed - this.lastDeparted) * 8000) / dtMs;
      const a = Math.min(1, dtMs / DRAIN_TAU_MS);
      this.drainedBps = Number.isNaN(this.drainedBps) ? sample : this.drainedBps + a * (sample - this.drainedBps);
    } else if (q.backlogBytes === 0) this.drainedBps = Number.NaN;
    this.lastDeparted = departed;
    this.lastBacklog = q.backlogBytes;
  }

  /** The cap ends now (zhuge stops, is reloaded, forgets the transport): the caller sends the lift itself. */
  liftNow(): void {
    if (!Number.isFinite(this.capBps)) return;
    this.capBps = Number.POSITIVE_INFINITY;
    this.lifted++;
    this.liftsLeft = 0;
  }

  private nextLift(): number {
    if (this.liftsLeft <= 0) return Number.NaN;
    this.liftsLeft--;
    return Number.POSITIVE_INFINITY;
  }
}
