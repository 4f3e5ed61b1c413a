/**
 * The client's own feedback, on the uplink (NFQUEUE): while zhuge reports for a transport, the
 * client's TWCC (or CCFB, when that is what zhuge builds) sub-packets are removed from its RTCP
 * compound; a datagram that carried nothing else is dropped, any other RTCP passes untouched.
 * The uplink RTCP also drives the transport's mode (SRTCP seen, plaintext RTCP seen, the client
 * switching between TWCC and CCFB), its DSCP/ECN for our feedback and the client's SSRCs.
 */
import { ParseError } from '../../protocols/errors.js';
import type { PacketView } from '../../protocols/packet.js';
import { RTCP_PT_RTPFB, RTPFB_FMT_CCFB, RTPFB_FMT_TWCC, RtcpCompoundCursor, rewriteCompoundWithout, type RtcpView } from '../../protocols/rtcp/index.js';
import { finishUdpDatagram } from '../../protocols/udp-datagram.js';
import type { RtpFeedbackCounters } from './rtp-feedback-counters.js';
import type { RtpTransport } from './rtp-transport.js';
import type { RtpTransportTable } from './rtp-transport-table.js';

export type UplinkRtpAction =
  /** not a packet of a known RTP transport: the engine goes on with its own classification */
  | { readonly action: 'unknown' }
  /** pass untouched */
  | { readonly action: 'accept' }
  /** a feedback-only datagram whose feedback zhuge replaces: drop it */
  | { readonly action: 'drop' }
  /** accept with this replacement (whole IP packet, lengths and checksums fixed) */
  | { readonly action: 'rewrite'; readonly packet: Uint8Array }
  /** SRTCP of a transport in mode 'srtcp-delay': apply the out-of-band ACK-delay treatment */
  | { readonly action: 'srtcp' };

export const UPLINK_UNKNOWN: UplinkRtpAction = Object.freeze({ action: 'unknown' });
const ACCEPT: UplinkRtpAction = Object.freeze({ action: 'accept' });
const DROP: UplinkRtpAction = Object.freeze({ action: 'drop' });
const SRTCP: UplinkRtpAction = Object.freeze({ action: 'srtcp' });

export class ClientFeedbackFilter {
  private readonly cursor = new RtcpCompoundCursor();

  constructor(
    private readonly transports: RtpTransportTable,
    private readonly counters: RtpFeedbackCounters,
  ) {}

  /** An uplink UDP packet of transport `t` (raw IP: v.ipOffset = 0). Never throws on traffic. */
  onUplink(tUs: number, t: RtpTransport, v: PacketView, buf: Uint8Array): UplinkRtpAction {
    const table = this.transports;
    // the client itself talks to this peer: zhuge may send feedback in its name (a transport
    // created by downlink traffic alone could be forged by any Internet host)
    t.clientSeen = true;
    table.classifyUplink(t, v, buf);
    const res = table.cls;
    const cls = res.cls;
    if (cls === 'srtcp') {
      if (!t.state.srtcp || t.mode !== (table.srtcpFallback === 'delay' ? 'srtcp-delay' : 'passthrough')) {
        t.state.srtcp = true;
        table.updateMode(t, tUs, 'srtcp uplink');
      }
      t.srtcpUplink++;
      this.counters.srtcpUplink++;
      return t.mode === 'srtcp-delay' ? SRTCP : ACCEPT;
    }
    if (cls !== 'rtcp' && cls !== 'rtcp-twcc' && cls !== 'rtcp-ccfb') return ACCEPT;
    if (res.malformed !== undefined || v.capturedPayloadLength < v.payloadLength) {
      this.counters.malformedUplink++;
      return ACCEPT;
    }
    t.feedbackDatagram.tos = v.tos;
    let changed = '';
    if (!t.plaintextRtcp) {
      t.plaintextRtcp = true;
      table.event(t, tUs, 'plaintext-rtcp', 'uplink');
      changed = 'plaintext rtcp uplink';
    }
    if (res.ccfbFeedbacks > 0 && !t.clientUsesCcfb) {
      t.clientUsesCcfb = true;
      changed = 'client sends ccfb';
    } else if (res.twccFeedbacks > 0 && res.ccfbFeedbacks === 0 && t.clientUsesCcfb) {
      t.clientUsesCcfb = false; // the client went back to TWCC
      changed = 'client back to twcc';
    }
    if (changed !== '') table.updateMode(t, tUs, changed);
    const start = v.payloadOffset;
    const end = start + v.payloadLength;
    table.learnClientSsrcs(t, buf, start, end);

    const twccFeedbacks = res.twccFeedbacks;
    const ccfbFeedbacks = res.ccfbFeedbacks;
    if (twccFeedbacks === 0 && ccfbFeedbacks === 0) return ACCEPT;
    // the feedback format zhuge replaces on this transport (CCFB when the client uses it)
    const kind: 'twcc' | 'ccfb' = t.mode === 'ccfb' || (t.mode !== 'twcc' && twccFeedbacks === 0) ? 'ccfb' : 'twcc';
    const ours = kind === 'twcc' ? twccFeedbacks : ccfbFeedbacks;
    if (ours === 0 || !table.isActive(t, tUs) || !table.replacesClientFeedback) {
      t.clientFeedbackPassed++;
      this.counters.clientFeedbackPassed[twccFeedbacks > 0 ? 'twcc' : 'ccfb']++;
      return ACCEPT;
    }
    const fmt = kind === 'twcc' ? RTPFB_FMT_TWCC : RTPFB_FMT_CCFB;
    const isOurs = (s: RtcpView): boolean => s.packetType === RTCP_PT_RTPFB && s.count === fmt;
    let total = 0;
    try {
      const c = this.cursor.reset(buf, start, end);
      while (c.next()) total++;
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.counters.malformedUplink++;
      return ACCEPT;
    }
    if (ours >= total) {
      t.clientFeedbackDropped++;
      this.counters.clientFeedbackDropped[kind]++;
      return DROP;
    }
    const packet = rewriteWithout(buf, v, isOurs);
    if (packet === undefined) {
      this.counters.malformedUplink++;
      return ACCEPT;
    }
    t.clientFeedbackRewritten++;
    this.counters.clientFeedbackRewritten[kind]++;
    return { action: 'rewrite', packet };
  }
}

/**
 * A new raw IP packet: the IP header (options / extension headers kept) and UDP header of
 * buf's packet, then its RTCP compound without the sub-packets `drop` selects; IPv4 total length
 * / IPv6 payload length, UDP length and both checksums fixed. undefined when the compound does not
 * rewrite (malformed).
 */
function rewriteWithout(buf: Uint8Array, v: PacketView, drop: (s: RtcpView) => boolean): Uint8Array | undefined {
  const ip = v.ipOffset;
  const hdr = v.payloadOffset - ip; // IP header(s) + UDP header
  const start = v.payloadOffset;
  const end = start + v.payloadLength;
  const out = new Uint8Array(hdr + v.payloadLength);
  out.set(buf.subarray(ip, start), 0);
  try {
    const n = rewriteCompoundWithout(buf, start, end, drop, out, hdr);
    const pkt = out.subarray(0, hdr + n);
    finishUdpDatagram(pkt, v.l4Offset - ip);
    return pkt;
  } catch (err) {
    if (err instanceof ParseError) return undefined;
    throw err;
  }
}
