/**
 * Offline replay of one evidence call (evidence-run.ts: ap-eth.pcap, ap-wlan.pcap) through an
 * Engine configured like the daemon, with flows.rtp settings changed at will: what zhuge would
 * have reported for the same packets, without running the call again. Prints the report timing's
 * counters, among them the delay reported that never happened (lateSumUs). Root not needed.
 *
 *   node dist/testbed/webrtc/replay-timing.js DIR [--set unmeasured=wait] [--set beyondLead=defer]
 *        [--queue-limit-bytes 37500]
 *
 * The replay polls every 50 ms from the first packet (the daemon's builds run on its own timer,
 * so single packets may fall into a neighbouring build); the uplink (the client's own feedback)
 * is replayed from the eth capture's packets to the server, so transports form as they did live.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/config/load-config.js';
import { engineOptionsFrom } from '../../src/daemon/engine-options.js';
import { Engine } from '../../src/engine/engine.js';
import { newUplinkDecision } from '../../src/engine/options.js';
import { decodePacket, linkTypeFromDlt, newPacketView, type LinkType } from '../../src/protocols/packet.js';
import { readCapture, type CaptureRecord } from '../../src/protocols/pcap-file.js';

interface Ev {
  tUs: number;
  kind: 'arrival' | 'departure' | 'uplink';
  r: CaptureRecord;
  lt: LinkType;
  src: number;
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { set: { type: 'string', multiple: true }, 'queue-limit-bytes': { type: 'string', default: '37500' } } });
  const dir = positionals[0];
  if (dir === undefined) throw new Error('usage: replay-timing DIR [--set key=value]...');
  const sets = (values.set ?? []).map((kv) => `    ${kv.replace('=', ': ')}`).join('\n');
  const cfg = parseConfig(`interfaces:\n  eth: eth0\n  wlan: wlan0\nflows:\n  rtp:\n    enabled: true\n${sets}\n`, 'replay.yaml');
  const e = new Engine({ ...engineOptionsFrom(cfg, 1), queueLimitBytes: Number(values['queue-limit-bytes']) });
  const rtp = e.rtp;
  if (rtp === undefined) throw new Error('flows.rtp is off');
  const v = newPacketView();
  const evs: Ev[] = [];
  const bySrc = new Map<number, number>();
  for (const [file, kind] of [['ap-eth.pcap', 'arrival'], ['ap-wlan.pcap', 'departure']] as const) {
    for (const r of readCapture(new Uint8Array(readFileSync(join(dir, file))))) {
      const lt = linkTypeFromDlt(r.linkType);
      if (lt === undefined) continue;
      try {
        decodePacket(r.data, lt, v);
      } catch {
        continue;
      }
      const src = v.src0; // IPv4 source, or the first word of an IPv6 one
      if (kind === 'arrival') bySrc.set(src, (bySrc.get(src) ?? 0) + 1);
      evs.push({ tUs: r.tUs, kind, r, lt, src });
    }
  }
  // the server is the busiest source on eth; eth packets from anyone else are uplink
  const server = [...bySrc.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const events = evs
    .map((x) => (x.kind === 'arrival' && x.src !== server ? { ...x, kind: 'uplink' as const } : x))
    .filter((x) => !(x.kind === 'departure' && x.src !== server))
    .sort((a, b) => a.tUs - b.tUs);
  const d = newUplinkDecision();
  let nextPollUs = events[0]?.tUs ?? 0;
  for (const x of events) {
    while (nextPollUs <= x.tUs) {
      rtp.poll(nextPollUs);
      nextPollUs += 50_000;
    }
    if (x.kind === 'arrival') e.onDownlinkArrival(x.tUs, x.r.data, x.lt, x.r.origLen);
    else if (x.kind === 'departure') e.onDownlinkDeparture(x.tUs, x.r.data, x.lt, x.r.origLen);
    else {
      try {
        decodePacket(x.r.data, x.lt, v);
      } catch {
        continue;
      }
      e.onUplink(x.tUs, x.r.data.subarray(v.ipOffset), d);
    }
  }
  const c = rtp.counters.reportTiming;
  const s = (us: number): number => Math.round(us / 1e3) / 1e3;
  process.stdout.write(
    `${JSON.stringify({
      dir,
      set: values.set ?? [],
      reportedObserved: c.reportedObserved,
      reportedPredicted: c.reportedPredicted,
      reportedClamped: c.reportedClamped,
      reportedLost: c.reportedLost,
      raisedToPrevious: c.raisedToPrevious,
      waitedUnpredicted: c.waitedUnpredicted,
      deferred: c.deferred,
      predictionsChecked: c.predictionsChecked,
      predictionsBad: c.predictionsBad,
      lateS: s(c.lateSumUs),
      absErrorS: s(c.predictionAbsErrorSumUs),
    })}\n`,
  );
}

main();
