/** Status of the in-band RTP feedback path (the daemon's status output; field names are part of it). */
import { flowKeyToString } from '../../protocols/flow-key.js';
import type { RtpFeedbackCounters } from './rtp-feedback-counters.js';
import type { RtpTransport, RtpTransportEvent, RtpTransportMode } from './rtp-transport.js';

export interface RtpTransportStatus {
  transport: string;
  mode: RtpTransportMode;
  active: boolean;
  plaintextRtcp: boolean;
  twccExtId: number;
  clientSenderSsrc: number;
  clientSsrcLearnt: boolean;
  mediaSsrc: number;
  mediaSsrcs: number[];
  rtpPackets: number;
  recorded: number;
  reportedReceived: number;
  reportedLost: number;
  feedbackBuilt: number;
  clientFeedbackDropped: number;
  clientFeedbackRewritten: number;
  clientFeedbackPassed: number;
  srtcpUplink: number;
  idleMs: number;
  /** since the transport's last recorded packet / last feedback build (-1: never) */
  lastRecordAgoMs: number;
  lastBuildAgoMs: number;
  /** in poll()'s set of transports to build feedback for */
  polled: boolean;
  /** TWCC packets recorded and not yet reported */
  pending: number;
  /** flows.rtp.signal remb / both: the REMB cap in force (bit/s; null: none), REMBs sent, caps set and lifted */
  capBps: number | null;
  rembSent: number;
  capsEngaged: number;
  capsLifted: number;
  /** the transport's life: creation, mode changes and why (bounded, oldest dropped) */
  history: RtpTransportEvent[];
}

export interface RtpFeedbackStatus {
  transports: number;
  reporting: boolean;
  counters: RtpFeedbackCounters;
  list: RtpTransportStatus[];
}

/** The status of one transport at `nowUs` (cold path: copies). */
export function rtpTransportStatus(t: RtpTransport, nowUs: number, lastSeenUs: number, active: boolean, polled: boolean): RtpTransportStatus {
  return {
    transport: flowKeyToString(t.key),
    mode: t.mode,
    active,
    plaintextRtcp: t.plaintextRtcp,
    twccExtId: t.state.twccExtId,
    clientSenderSsrc: t.clientSenderSsrc,
    clientSsrcLearnt: t.clientSsrcLearnt,
    mediaSsrc: t.mediaSsrc,
    mediaSsrcs: [...t.mediaSsrcs],
    rtpPackets: t.rtpPackets,
    recorded: t.recorded,
    reportedReceived: t.reportedReceived,
    reportedLost: t.reportedLost,
    feedbackBuilt: t.feedbackBuilt,
    clientFeedbackDropped: t.clientFeedbackDropped,
    clientFeedbackRewritten: t.clientFeedbackRewritten,
    clientFeedbackPassed: t.clientFeedbackPassed,
    srtcpUplink: t.srtcpUplink,
    idleMs: Math.round((nowUs - lastSeenUs) / 1000),
    lastRecordAgoMs: Number.isFinite(t.lastRecordUs) ? Math.round((nowUs - t.lastRecordUs) / 1000) : -1,
    lastBuildAgoMs: Number.isFinite(t.lastBuildUs) ? Math.round((nowUs - t.lastBuildUs) / 1000) : -1,
    polled,
    pending: t.twcc?.pendingCount ?? 0,
    capBps: t.cap !== undefined && Number.isFinite(t.cap.capBps) ? Math.round(t.cap.capBps) : null,
    rembSent: t.rembSent,
    capsEngaged: t.cap?.engaged ?? 0,
    capsLifted: t.cap?.lifted ?? 0,
    history: t.history.map((e) => ({ ...e })),
  };
}
