/**
 * Replay of libwebrtc's goog_cc InterArrivalDelta (inter_arrival_delta.cc): packets are grouped
 * by send time (a group spans at most 5 ms of send time from its first packet, plus "bursts":
 * packets that arrive within 5 ms of the previous one, earlier than their send spacing would
 * predict, and within 100 ms of the group's first arrival). When a packet opens a new group,
 * the deltas between the two previous complete groups are ready: send-time delta (last send
 * time of each group) and arrival delta (last arrival of each group). A negative arrival delta
 * yields nothing; 3 such in a row reset the grouping. A packet sent before the current group's
 * first packet is dropped as reordered.
 *
 * Omitted: the reset when the arrival clock jumps by >= 3 s relative to the sender's clock of
 * feedback receipt (kArrivalTimeOffsetThreshold): a per-packet table has no such second clock.
 */

/** Send-time span of one group (kSendTimeGroupLength in delay_based_bwe.cc). */
export const SEND_TIME_GROUP_LENGTH_MS = 5;
/** A burst packet arrives at most this long after the previous one (kBurstDeltaThreshold). */
export const BURST_DELTA_THRESHOLD_MS = 5;
/** A burst lasts less than this from the group's first arrival (kMaxBurstDuration). */
export const MAX_BURST_DURATION_MS = 100;
/** Consecutive negative group arrival deltas that reset the grouping (kReorderedResetThreshold). */
export const REORDERED_RESET_THRESHOLD = 3;

interface SendTimeGroup {
  sizeBytes: number;
  firstSendTimeMs: number;
  sendTimeMs: number;
  firstArrivalMs: number;
  /** arrival of the group's last packet; -Infinity for an empty group */
  completeTimeMs: number;
}

function emptyGroup(): SendTimeGroup {
  return {
    sizeBytes: 0,
    firstSendTimeMs: -Infinity,
    sendTimeMs: -Infinity,
    firstArrivalMs: -Infinity,
    completeTimeMs: -Infinity,
  };
}

/** What one packet did to the grouping. */
export type InterArrivalDeltaEvent =
  /** joined or opened a group; no delta ready */
  | { readonly kind: 'none' }
  /** sent before the current group's first packet: dropped */
  | { readonly kind: 'reordered-packet' }
  /** opened a group and the previous two groups gave a delta */
  | { readonly kind: 'delta'; readonly sendDeltaMs: number; readonly arrivalDeltaMs: number; readonly sizeDeltaBytes: number }
  /** the two previous groups' arrival delta was negative: the packet is dropped; reset on the 3rd in a row */
  | { readonly kind: 'negative-delta'; readonly sendDeltaMs: number; readonly arrivalDeltaMs: number; readonly reset: boolean };

export class InterArrivalDelta {
  private current = emptyGroup();
  private prev = emptyGroup();
  private consecutiveReordered = 0;

  constructor(private readonly groupLengthMs: number = SEND_TIME_GROUP_LENGTH_MS) {}

  /** ComputeDeltas for one received packet, in the order GCC feeds them (receive-time order within a feedback). */
  computeDeltas(sendTimeMs: number, arrivalTimeMs: number, sizeBytes: number): InterArrivalDeltaEvent {
    let event: InterArrivalDeltaEvent = { kind: 'none' };
    const cur = this.current;
    if (cur.completeTimeMs === -Infinity) {
      cur.sendTimeMs = sendTimeMs;
      cur.firstSendTimeMs = sendTimeMs;
      cur.firstArrivalMs = arrivalTimeMs;
    } else if (cur.firstSendTimeMs > sendTimeMs) {
      return { kind: 'reordered-packet' };
    } else if (this.newTimestampGroup(arrivalTimeMs, sendTimeMs)) {
      if (this.prev.completeTimeMs !== -Infinity) {
        const sendDeltaMs = cur.sendTimeMs - this.prev.sendTimeMs;
        const arrivalDeltaMs = cur.completeTimeMs - this.prev.completeTimeMs;
        if (arrivalDeltaMs < 0) {
          this.consecutiveReordered += 1;
          const reset = this.consecutiveReordered >= REORDERED_RESET_THRESHOLD;
          if (reset) this.reset();
          return { kind: 'negative-delta', sendDeltaMs, arrivalDeltaMs, reset };
        }
        this.consecutiveReordered = 0;
        event = { kind: 'delta', sendDeltaMs, arrivalDeltaMs, sizeDeltaBytes: cur.sizeBytes - this.prev.sizeBytes };
      }
      this.prev = { ...cur };
      cur.firstSendTimeMs = sendTimeMs;
      cur.sendTimeMs = sendTimeMs;
      cur.firstArrivalMs = arrivalTimeMs;
      cur.sizeBytes = 0;
    } else {
      cur.sendTimeMs = Math.max(cur.sendTimeMs, sendTimeMs);
    }
    cur.sizeBytes += sizeBytes;
    cur.completeTimeMs = arrivalTimeMs;
    return event;
  }

  private newTimestampGroup(arrivalTimeMs: number, sendTimeMs: number): boolean {
    if (this.current.completeTimeMs === -Infinity) return false;
    if (this.belongsToBurst(arrivalTimeMs, sendTimeMs)) return false;
    return sendTimeMs - this.current.firstSendTimeMs > this.groupLengthMs;
  }

  private belongsToBurst(arrivalTimeMs: number, sendTimeMs: number): boolean {
    const arrivalDeltaMs = arrivalTimeMs - this.current.completeTimeMs;
    const sendDeltaMs = sendTimeMs - this.current.sendTimeMs;
    if (sendDeltaMs === 0) return true;
    const propagationDeltaMs = arrivalDeltaMs - sendDeltaMs;
    return (
      propagationDeltaMs < 0 &&
      arrivalDeltaMs <= BURST_DELTA_THRESHOLD_MS &&
      arrivalTimeMs - this.current.firstArrivalMs < MAX_BURST_DURATION_MS
    );
  }

  private reset(): void {
    this.consecutiveReordered = 0;
    this.current = emptyGroup();
    this.prev = emptyGroup();
  }
}
