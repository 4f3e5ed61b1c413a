/** Counters of the in-band RTP feedback path (status and metrics; names are part of the status output). */
import { newReportTimingCounters, type ReportTimingCounters } from '../../feedback-updater/report-timing.js';

export interface FeedbackCounts {
  twcc: number;
  ccfb: number;
}

export interface RtpFeedbackCounters {
  /** RTP packets the engine predicted the AP queue drops (queue full at arrival): reported lost */
  predictedDrops: number;
  transportsCreated: number;
  transportsEvicted: number;
  hashCollisions: number;
  rtpPackets: number;
  /** packets recorded for our feedback */
  recorded: FeedbackCounts;
  /** feedback packets built (and returned by poll) */
  feedbackBuilt: FeedbackCounts;
  /** client datagrams dropped because all they carried was feedback we replace */
  clientFeedbackDropped: FeedbackCounts;
  /** client compounds with the feedback sub-packets removed */
  clientFeedbackRewritten: FeedbackCounts;
  /** client feedback let through because zhuge was not reporting for the transport */
  clientFeedbackPassed: FeedbackCounts;
  srtcpUplink: number;
  /** uplink RTCP of a known transport that did not parse (accepted untouched) */
  malformedUplink: number;
  lostMarked: number;
  lostTooLate: number;
  /** feedback built but discarded (transport not confirmed plaintext, reporting off) */
  discarded: number;
  /** RTP packets whose transport-wide number jumped further than a sender can (not recorded: seq-jump-guard.ts) */
  implausibleSeqJumps: number;
  /** reportTiming 'arrival': a packet recorded at a time before the previous one of its transport */
  reportedBackwards: number;
  /** every transport's report timing (report-timing.ts; largestForwardStepUs in both modes) */
  reportTiming: ReportTimingCounters;
  /** drops reported received and sent again (drop-repair.ts) */
  repair: RepairCounts;
  /** REMB rate caps (and lifts) sent (flows.rtp.signal remb / both: remb-cap.ts) */
  rembSent: number;
}

export interface RepairCounts {
  /** copies queued to be sent again */
  queued: number;
  /** a drop to repair whose copy was not kept (cut capture, too large) or already overwritten */
  noCopy: number;
  /** packets not copied (cut at the capture's snap length, or larger than a copy slot) */
  notCopied: number;
  /** repairs beyond the pending limit (not sent) */
  overflow: number;
  /** repair copies seen leaving the Wi-Fi queue */
  delivered: number;
  /** repair copies the queue dropped again (a packet that arrived after the copy left first), sent once more */
  resent: number;
  /** repair copies dropped again after the last try, or later than the give-up time: not sent again */
  gaveUp: number;
}

export function newRtpFeedbackCounters(): RtpFeedbackCounters {
  return {
    predictedDrops: 0,
    transportsCreated: 0,
    transportsEvicted: 0,
    hashCollisions: 0,
    rtpPackets: 0,
    recorded: { twcc: 0, ccfb: 0 },
    feedbackBuilt: { twcc: 0, ccfb: 0 },
    clientFeedbackDropped: { twcc: 0, ccfb: 0 },
    clientFeedbackRewritten: { twcc: 0, ccfb: 0 },
    clientFeedbackPassed: { twcc: 0, ccfb: 0 },
    srtcpUplink: 0,
    malformedUplink: 0,
    lostMarked: 0,
    lostTooLate: 0,
    discarded: 0,
    reportedBackwards: 0,
    implausibleSeqJumps: 0,
    reportTiming: newReportTimingCounters(),
    repair: { queued: 0, noCopy: 0, notCopied: 0, overflow: 0, delivered: 0, resent: 0, gaveUp: 0 },
    rembSent: 0,
  };
}
