/**
 * A Wi-Fi client cannot change another client's RTP transport (issue 15, finding 7): an uplink
 * packet claiming a client's address from another link-layer address than the one the AP's
 * downlink frames to that client go to (NFQA_HWADDR against the wlan tap) changes nothing and
 * passes untouched. On a real Chromium call (plaintext RTCP, TWCC): a CCFB packet from the
 * client's 5-tuple would switch the transport to CCFB, so that zhuge builds RFC 8888 feedback
 * the sender never asked for and removes the client's TWCC.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { newUplinkDecision } from '../../src/engine/options.js';
import { macNumber } from '../../src/engine/station-directory.js';
import { fixIpPacketChecksums } from '../../src/protocols/checksum.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { readCapture } from '../../src/protocols/pcap-file.js';
import { parseIpv4Address } from '../../src/protocols/ipv4.js';
import { engineOptions } from '../helpers/engine.js';
import { buildFeedback } from '../helpers/rtcp-packets.js';

const fixture = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../../../shared/fixtures/webrtc/${name}`, import.meta.url)));
const SERVER = parseIpv4Address('10.78.1.1');
const OTHER_STATION = 0x02aabbccddee;

/** The call replayed with the MACs of its frames; returns the client's MAC and one of its uplink RTCP packets (raw IP). */
function replayCall(e: Engine): { clientMac: number; clientRtcp: Uint8Array } {
  const v = newPacketView();
  const d = newUplinkDecision();
  let clientMac = 0;
  let clientRtcp: Uint8Array | undefined;
  for (const rec of readCapture(fixture('chromium-plaintext-4s.pcap'))) {
    decodePacket(rec.data, 'ethernet', v);
    if (v.src0 === SERVER) {
      e.onDownlinkArrival(rec.tUs, rec.data, 'ethernet', rec.origLen);
      e.onDownlinkDeparture(rec.tUs + 500, rec.data, 'ethernet', rec.origLen);
    } else {
      clientMac = macNumber(rec.data, 6);
      const ip = rec.data.subarray(v.ipOffset);
      if (clientRtcp === undefined && v.l4 === 'udp' && v.payloadLength > 8 && ((ip[v.payloadOffset - v.ipOffset + 1] ?? 0) & 0xff) >= 200) clientRtcp = ip.slice();
      const r = e.onUplink(rec.tUs, ip, d, clientMac);
      if (r.verdict === 'hold') e.onReleased(r.flow);
    }
    e.rtp?.poll(rec.tUs);
  }
  if (clientRtcp === undefined) throw new Error('no client RTCP in the capture');
  return { clientMac, clientRtcp };
}

/** A CCFB (RFC 8888) packet in the client's RTCP datagram (same addresses and ports). */
function ccfbFrom(clientRtcp: Uint8Array): Uint8Array {
  const v = newPacketView();
  decodePacket(clientRtcp, 'raw-ip', v);
  const ccfb = buildFeedback(205, 11, 0x1234, 0x5678, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0]));
  const hl = v.payloadOffset;
  const out = new Uint8Array(hl + ccfb.length);
  out.set(clientRtcp.subarray(0, hl));
  out.set(ccfb, hl);
  const dv = new DataView(out.buffer);
  dv.setUint16(2, out.length);
  dv.setUint16(v.l4Offset + 4, 8 + ccfb.length);
  fixIpPacketChecksums(out, 0);
  return out;
}

const modeOf = (e: Engine, tUs: number): string | undefined => e.rtp?.status(tUs).list.find((t) => t.mode !== 'passthrough')?.mode;

describe("another station cannot change a client's RTP transport", () => {
  it.each([
    ['from another station: nothing changes, passed untouched, counted', OTHER_STATION, 'twcc', 1],
    ["from the client's own MAC (the control: the same packet does switch the mode)", -1, 'ccfb', 0],
    ['without a link-layer address (NFQA_HWADDR absent): as before, the packet is taken', 0, 'ccfb', 0],
  ])('a CCFB packet on the transport %s', (_name, mac, mode, foreign) => {
    const e = new Engine(engineOptions({ rtp: { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback: 'delay', seed: 1, reportTiming: 'arrival' } }));
    const { clientMac, clientRtcp } = replayCall(e);
    const t = 10_000_000;
    expect(modeOf(e, t)).toBe('twcc');
    expect(e.clientMacs.size).toBeGreaterThan(0);
    const forged = ccfbFrom(clientRtcp);
    const d = e.onUplink(t, forged, newUplinkDecision(), mac === -1 ? clientMac : mac);
    expect(modeOf(e, t)).toBe(mode);
    expect(e.counters.uplinkForeignMac).toBe(foreign);
    if (foreign > 0) {
      expect(d.verdict).toBe('accept');
      expect(d.payload).toBeUndefined();
    }
  });
});
