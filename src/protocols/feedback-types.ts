/**
 * Structured forms of the two transport-wide congestion-control feedback formats, shared by the
 * codecs (src/protocols/rtcp/twcc.ts, src/protocols/rtcp/ccfb.ts) and the recorders that build them
 * (src/feedback-updater). Times are kept in the wire's own units so that parse -> serialize is
 * exact; helpers convert to microseconds.
 */

/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01,
 * RTPFB FMT 15). One entry per sequence number from baseSeq, in order.
 */
export interface TwccFeedback {
  senderSsrc: number;
  mediaSsrc: number;
  /** 16-bit transport-wide sequence number of the first packet reported. */
  baseSeq: number;
  /** 24-bit signed reference time, in units of 64 ms. */
  referenceTime64ms: number;
  /** 8-bit feedback packet count (wraps). */
  fbPktCount: number;
  /**
   * For packet baseSeq + i: null when not received; otherwise its receive delta in 250 us ticks
   * relative to the previous received packet (the first one: relative to referenceTime64ms).
   * 0..255 is a small delta (1 byte), anything else (signed 16-bit) a large delta (2 bytes).
   */
  deltas: Array<number | null>;
}

/** One reported packet of an RFC 8888 report block. */
export interface CcfbMetric {
  received: boolean;
  /** 2-bit ECN codepoint. */
  ecn: number;
  /** 13-bit arrival time offset in 1/1024 s before the report timestamp (0x1FFF: unavailable / >= 8189/1024 s). */
  atoUnits: number;
}

export interface CcfbStreamBlock {
  ssrc: number;
  /** 16-bit sequence number of the first metric. */
  beginSeq: number;
  metrics: CcfbMetric[];
}

/** RFC 8888 congestion control feedback (RTPFB FMT 11). */
export interface CcfbReport {
  senderSsrc: number;
  streams: CcfbStreamBlock[];
  /** Report timestamp: the middle 32 bits of an NTP timestamp (16.16 seconds). */
  reportTimestampNtp32: number;
}
