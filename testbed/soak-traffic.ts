/**
 * The soak's churning UDP traffic (testbed/soak.ts), one process per end:
 *
 *   send    (srv): RTP-shaped datagrams (version 2, PT 96, a one-byte header extension with a
 *           transport-wide sequence number, id 3) from port 5004+ and QUIC long-header datagrams
 *           from port 443, to the client, at --pps in all; every --flow-packets datagrams a
 *           sender moves to a new source port (a new 5-tuple: flows churn).
 *   reflect (cli): answers every 20th RTP datagram with an RTCP receiver report and every 10th
 *           QUIC one with a short QUIC packet, to the port it came from (uplink: NFQUEUE).
 *
 *   node dist/testbed/soak-traffic.js send --to 10.1.3.2 --pps 4000 --seconds 1800 [--flow-packets 2000]
 *   node dist/testbed/soak-traffic.js reflect
 */
import { createSocket, type Socket } from 'node:dgram';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const RTP_DST_PORT = 6004;
export const QUIC_DST_PORT = 6443;

/** An RTP packet with a transport-wide sequence number (one-byte extension, id 3), 160 bytes of payload. */
export function rtpDatagram(seq: number, ts: number, ssrc: number, twSeq: number): Buffer {
  const b = Buffer.alloc(12 + 8 + 160);
  b[0] = 0x90; // V=2, X=1
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(1, 14);
  b[16] = (3 << 4) | 1; // id 3, two bytes
  b.writeUInt16BE(twSeq & 0xffff, 17);
  for (let i = 20; i < b.length; i++) b[i] = (i * 31 + seq) & 0xff;
  return b;
}

/** A QUIC v1 long-header (Initial-shaped) datagram of 300 bytes. */
export function quicDatagram(n: number): Buffer {
  const b = Buffer.alloc(300);
  b[0] = 0xc3;
  b.writeUInt32BE(1, 1);
  b[5] = 8;
  b.writeUInt32BE(n >>> 0, 6);
  b[14] = 0;
  for (let i = 15; i < b.length; i++) b[i] = (i * 17 + n) & 0xff;
  return b;
}

/** An RTCP receiver report (one block) from `ssrc` about `mediaSsrc`. */
export function rtcpRr(ssrc: number, mediaSsrc: number, highestSeq: number): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x81;
  b[1] = 201;
  b.writeUInt16BE(7, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  b.writeUInt32BE(highestSeq >>> 0, 16);
  return b;
}

function send(to: string, pps: number, seconds: number, flowPackets: number): void {
  let rtp: Socket | undefined;
  let quic: Socket | undefined;
  let rtpPort = 20000;
  let sent = 0;
  let seq = 0;
  let ssrc = 1;
  const rebind = (): void => {
    rtp?.close();
    quic?.close();
    // a new source port each time: the datagrams of the next flowPackets form a new 5-tuple
    rtpPort = rtpPort >= 60000 ? 20000 : rtpPort + 2;
    rtp = createSocket('udp4');
    rtp.bind(rtpPort);
    quic = createSocket('udp4');
    quic.bind(rtpPort + 1);
    ssrc++;
  };
  rebind();
  const t0 = Date.now();
  // send in 5 ms ticks: pps/200 datagrams each (4 RTP : 1 QUIC)
  const perTick = Math.max(1, Math.round(pps / 200));
  const timer = setInterval(() => {
    if (Date.now() - t0 > seconds * 1000) {
      clearInterval(timer);
      rtp?.close();
      quic?.close();
      process.stdout.write(`sent ${sent}\n`);
      return;
    }
    for (let i = 0; i < perTick; i++) {
      if (sent % 5 === 4) quic?.send(quicDatagram(sent), QUIC_DST_PORT, to);
      else rtp?.send(rtpDatagram(seq, seq * 90, ssrc, seq), RTP_DST_PORT, to);
      seq++;
      sent++;
      if (sent % flowPackets === 0) rebind();
    }
  }, 5);
}

function reflect(): void {
  let n = 0;
  const rtp = createSocket('udp4');
  rtp.on('message', (m, r) => {
    n++;
    if (n % 20 === 0 && m.length >= 12) rtp.send(rtcpRr(0x5eed, m.readUInt32BE(8), m.readUInt16BE(2)), r.port, r.address);
  });
  rtp.bind(RTP_DST_PORT);
  let q = 0;
  const quic = createSocket('udp4');
  quic.on('message', (m, r) => {
    q++;
    if (q % 10 === 0) quic.send(Buffer.from([0x43, 1, 2, 3, 4, 5, 6, 7, 8, 9]), r.port, r.address);
  });
  quic.bind(QUIC_DST_PORT);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { to: { type: 'string' }, pps: { type: 'string', default: '4000' }, seconds: { type: 'string', default: '60' }, 'flow-packets': { type: 'string', default: '2000' } },
  });
  if (positionals[0] === 'send') send(values.to ?? '', Number(values.pps), Number(values.seconds), Number(values['flow-packets']));
  else if (positionals[0] === 'reflect') reflect();
  else {
    process.stderr.write('usage: soak-traffic.js send --to ADDR [--pps N] [--seconds S] [--flow-packets N] | reflect\n');
    process.exit(2);
  }
}
