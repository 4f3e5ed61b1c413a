/**
 * The sender's per-ACK RTT, measured on the sender's own interface (run inside srv with
 * `ip netns exec`): every data segment's first transmission is remembered by its end sequence
 * number; an ACK acknowledging exactly that end yields one RTT sample (Karn: retransmitted
 * segments give none). This is the RTT a TCP sender's estimator is fed, at per-ACK resolution
 * (ss sampling is 40-60 ms apart here, too coarse to see a control loop shortened by one RTT).
 *
 * Output: one JSON line per sample, {"tUs": wall-clock µs of the ACK, "rttMs": ...}; a
 * {"event":"ready"} line first.
 */
import { Tap } from '../src/daemon/capture.js';
import { decodePacket, linkTypeFromDlt, newPacketView } from '../src/protocols/packet.js';
import { parseIpv4Address } from '../src/protocols/ipv4.js';
import { parseIpv6Address } from '../src/protocols/ipv6.js';

interface Seg {
  end: number;
  tUs: number;
  retrans: boolean;
}

export class RttEstimator {
  private readonly segs: Seg[] = [];
  private head = 0;
  private highest = -1;
  private isn: number | undefined;

  /** A data segment [seq, seq+len) left the sender at tUs. */
  onData(tUs: number, seq: number, len: number): void {
    if (len <= 0) return;
    this.isn ??= seq;
    const end = (((seq - this.isn) >>> 0) + len) >>> 0;
    if (end <= this.highest) {
      // a retransmission: every segment it covers is ambiguous now
      for (let i = this.head; i < this.segs.length; i++) {
        const s = this.segs[i];
        if (s !== undefined && s.end <= end) s.retrans = true;
      }
      return;
    }
    this.highest = end;
    this.segs.push({ end, tUs, retrans: false });
  }

  /** An ACK for `ack` arrived at tUs: returns an RTT sample (ms) or undefined. */
  onAck(tUs: number, ack: number): number | undefined {
    if (this.isn === undefined) return undefined;
    const a = (ack - this.isn) >>> 0;
    let sample: number | undefined;
    while (this.head < this.segs.length) {
      const s = this.segs[this.head];
      if (s === undefined || s.end > a) break;
      if (s.end === a && !s.retrans) sample = (tUs - s.tUs) / 1000;
      this.head++;
    }
    if (this.head > 4096) {
      this.segs.splice(0, this.head);
      this.head = 0;
    }
    return sample;
  }
}

function main(argv: string[]): void {
  const arg = (name: string): string => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (v === undefined) throw new Error(`missing ${name}`);
    return v;
  };
  const dev = arg('--dev');
  // the sender's address as the four words of address-pair.ts (IPv4: the address, then zeros)
  const senderArg = arg('--sender');
  const [s0, s1, s2, s3] = senderArg.includes(':') ? (parseIpv6Address(senderArg) ?? [0, 0, 0, 0]) : [parseIpv4Address(senderArg) ?? 0, 0, 0, 0];
  const fromSender = (): boolean => v.src0 === s0 && v.src1 === s1 && v.src2 === s2 && v.src3 === s3;
  const port = Number(arg('--port'));
  // one estimator per connection (iperf3 has a control and a data connection to the same port)
  const ests = new Map<number, RttEstimator>();
  const estFor = (p: number): RttEstimator => {
    let e = ests.get(p);
    if (e === undefined) ests.set(p, (e = new RttEstimator()));
    return e;
  };
  const v = newPacketView();
  let lt: ReturnType<typeof linkTypeFromDlt> = 'ethernet';
  const out: string[] = [];
  const tap = new Tap({ device: dev, direction: 'any', filter: `tcp port ${port}`, snapLength: 96 }, (wallUs, data) => {
    decodePacket(data, lt ?? 'ethernet', v);
    if (v.l4 !== 'tcp') return;
    if (fromSender() && v.srcPort === port) return; // the server side of the control connection
    if (fromSender()) estFor(v.srcPort).onData(wallUs, v.tcpSeq, v.payloadLength);
    else if ((v.tcpFlags & 0x10) !== 0) {
      const r = estFor(v.dstPort).onAck(wallUs, v.tcpAck);
      if (r !== undefined) out.push(`{"tUs":${wallUs},"rttMs":${r.toFixed(3)}}`);
    }
  });
  lt = linkTypeFromDlt(tap.dlt);
  const flush = setInterval(() => {
    if (out.length > 0) process.stdout.write(out.splice(0).join('\n') + '\n');
  }, 100);
  process.stdout.write('{"event":"ready"}\n');
  const stop = (): void => {
    clearInterval(flush);
    tap.close();
    if (out.length > 0) process.stdout.write(out.splice(0).join('\n') + '\n');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] !== undefined && /rtt-tap\.js$/.test(process.argv[1])) main(process.argv.slice(2));
