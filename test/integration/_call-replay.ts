/** A real Chromium call's UDP payloads replayed between srv and cli at their recorded times (rtp-inband, rtp-remb). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { DaemonProc } from '../../testbed/daemon-proc.js';
import { randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { ensureBuilt } from './_helpers.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { readCapture } from '../../src/protocols/pcap-file.js';
import { parseIpv4Address } from '../../src/protocols/ipv4.js';
import { newRembView, RtcpCompoundCursor, readRemb, RTCP_PT_RTPFB, RTPFB_FMT_TWCC } from '../../src/protocols/rtcp/index.js';

export const FIXTURE = fileURLToPath(new URL('../../../shared/fixtures/webrtc/chromium-plaintext-4s.pcap', import.meta.url));
export const SERVER = parseIpv4Address('10.78.1.1');
export const SRV_PORT = 5004;
export const CLI_PORT = 6004;
export const NAT_SRV_PORT = 5006;
export const NAT_CLI_PORT = 6006;

export interface Dgram {
  atMs: number;
  hex: string;
}

/** The call's UDP payloads per side, with send times relative to the first packet. */
export function loadCall(): { server: Dgram[]; client: Dgram[] } {
  const v = newPacketView();
  const server: Dgram[] = [];
  const client: Dgram[] = [];
  let t0: number | undefined;
  for (const rec of readCapture(readFileSync(FIXTURE))) {
    decodePacket(rec.data, 'ethernet', v);
    if (v.l4 !== 'udp') continue;
    t0 ??= rec.tUs;
    // the capture's snap length cut RTP payloads: pad them back to their length with zeros
    const payload = new Uint8Array(v.payloadLength);
    payload.set(rec.data.subarray(v.payloadOffset, v.payloadOffset + v.capturedPayloadLength));
    const d = { atMs: (rec.tUs - t0) / 1000, hex: Buffer.from(payload).toString('hex') };
    (v.src0 === SERVER ? server : client).push(d);
  }
  return { server, client };
}

// sends the given datagrams at their times to PEER:PEERPORT from BIND:PORT, prints what it receives
// (payload and source). PEER 'learn': wait for the first datagram and talk to its source (a server
// behind which the client is NATed); 'hello': send one empty datagram first (opens the NAT mapping)
export const PEER_SCRIPT = `
const dgram = require('node:dgram');
const fs = require('node:fs');
const [file, bind, port, peerArg, peerPortArg, durMs, mode] = process.argv.slice(2);
const list = JSON.parse(fs.readFileSync(file, 'utf8'));
const s = dgram.createSocket(bind.includes(':') ? 'udp6' : 'udp4');
const got = [];
let peer = peerArg, peerPort = Number(peerPortArg), started = false;
const start = () => {
  started = true;
  for (const d of list) setTimeout(() => s.send(Buffer.from(d.hex, 'hex'), peerPort, peer), d.atMs);
  setTimeout(() => { process.stdout.write(JSON.stringify(got)); s.close(); }, Number(durMs));
};
s.on('message', (m, r) => {
  if (mode === 'learn' && !started) { peer = r.address; peerPort = r.port; start(); return; }
  got.push({ hex: m.toString('hex'), from: r.address + ':' + r.port, atMs: Date.now() });
});
s.bind(Number(port), bind, () => {
  if (mode === 'hello') s.send(Buffer.alloc(0), peerPort, peer, () => setTimeout(start, 200));
  else if (mode !== 'learn') start();
});
`;


/** What a peer printed: each datagram it received, its source, and when (Date.now() at reception). */
export interface Received {
  hex: string;
  from: string;
  atMs: number;
}

/** The REMB bitrates in a datagram (RTCP compound), and whether it carries TWCC. */
export function rtcpOf(b: Uint8Array): { rembs: number[]; twcc: boolean } {
  const out = { rembs: [] as number[], twcc: false };
  if (b.length < 8 || (b[0] ?? 0) >> 6 !== 2 || (b[1] ?? 0) < 192 || (b[1] ?? 0) > 223) return out;
  const c = new RtcpCompoundCursor();
  const r = newRembView();
  try {
    c.reset(b, 0, b.length);
    while (c.next()) {
      if (c.view.kind === 'remb') {
        readRemb(b, c.view, r);
        out.rembs.push(r.bitrateBps);
      }
      if (c.view.packetType === RTCP_PT_RTPFB && c.view.count === RTPFB_FMT_TWCC) out.twcc = true;
    }
  } catch {
    // not RTCP (RTP, or cut)
  }
  return out;
}

/** A testbed for replayed calls, with the peer script and the call's payloads written in `dir`. */
export interface ReplayLab {
  tb: Testbed | undefined;
  dir: string;
  /** the daemon a test started (stopped after the tests if still running) */
  daemon: DaemonProc | undefined;
}

/** Sets the lab up before the calling describe's tests and takes it down after them (then `cleanup`). */
export function useReplayLab(linkBps: number, bufferMs: number, cleanup?: (lab: ReplayLab) => void): ReplayLab {
  const lab: ReplayLab = { tb: undefined, dir: '', daemon: undefined };
  beforeAll(async () => {
    await ensureBuilt();
    lab.tb = await up({ prefix: randomPrefix(), rateBps: linkBps, bufferMs });
    lab.dir = mkdtempSync(join(tmpdir(), 'zhuge-replay-'));
    const call = loadCall();
    writeFileSync(join(lab.dir, 'peer.cjs'), PEER_SCRIPT);
    writeFileSync(join(lab.dir, 'server.json'), JSON.stringify(call.server));
    writeFileSync(join(lab.dir, 'client.json'), JSON.stringify(call.client));
  }, 120_000);
  afterAll(async () => {
    await lab.daemon?.stop().catch(() => undefined);
    await lab.tb?.down();
    if (lab.dir !== '') rmSync(lab.dir, { recursive: true, force: true });
    cleanup?.(lab);
  });
  return lab;
}
