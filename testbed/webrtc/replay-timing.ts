/**
 * Offline replay of one evidence call (evidence-run.ts: ap-eth.pcap, ap-wlan.pcap) through an
 * Engine configured like the daemon, with flows.rtp settings changed at will: what zhuge would
 * have reported for the same packets, without running the call again. Prints the report timing's
 * counters, among them the delay reported that never happened (lateSumUs). Root not needed.
 * The captures may be gzipped (ap-eth.pcap.gz, as committed in docs/results/rtc-evidence/).
 *
 *   node dist/testbed/webrtc/replay-timing.js DIR [--set unmeasured=wait] [--set beyondLead=defer]
 *        [--queue-limit-bytes 37500]
 *
 * The replay polls every 50 ms from the first packet (the daemon's builds run on its own timer,
 * so single packets may fall into a neighbouring build); the uplink (the client's own feedback)
 * is replayed from the eth capture's packets to the server, so transports form as they did live.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/config/load-config.js';
import { engineOptionsFrom } from '../../src/daemon/engine-options.js';
import { Engine } from '../../src/engine/engine.js';
import { newUplinkDecision } from '../../src/engine/options.js';
import { decodePacket, newPacketView, type LinkType } from '../../src/protocols/packet.js';
import type { CaptureRecord } from '../../src/protocols/pcap-file.js';
import { decodedCapture } from '../decoded-capture.js';

interface Ev {
  tUs: number;
  kind: 'arrival' | 'departure' | 'uplink';
  r: CaptureRecord;
  lt: LinkType;
  src: number;
}

export interface ReplayTimingResult {
  reportedObserved: number;
  reportedPredicted: number;
  reportedClamped: number;
  reportedLost: number;
  raisedToPrevious: number;
  waitedUnpredicted: number;
  deferred: number;
  predictionsChecked: number;
  predictionsBad: number;
  /** delay reported that never happened, and |reported - departure| over the checked predictions (s) */
  lateS: number;
  absErrorS: number;
}

/** Replays the call in `dir` with `sets` (flows.rtp keys, 'key=value'). */
export function replayTiming(dir: string, sets: readonly string[] = [], queueLimitBytes = 37_500): ReplayTimingResult {
  // report timing exists only where zhuge builds feedback of its own: signal twcc unless `sets` says otherwise
  const all = sets.some((kv) => kv.startsWith('signal=')) ? sets : ['signal=twcc', ...sets];
  const yaml = all.map((kv) => `    ${kv.replace('=', ': ')}`).join('\n');
  const cfg = parseConfig(`interfaces:\n  eth: eth0\n  wlan: wlan0\nflows:\n  rtp:\n    enabled: true\n${yaml}\n`, 'replay.yaml');
  const e = new Engine({ ...engineOptionsFrom(cfg, 1), queueLimitBytes });
  const rtp = e.rtp;
  if (rtp === undefined) throw new Error('flows.rtp is off');
  const v = newPacketView();
  const evs: Ev[] = [];
  const bySrc = new Map<number, number>();
  for (const [file, kind] of [['ap-eth.pcap', 'arrival'], ['ap-wlan.pcap', 'departure']] as const) {
    // the captures as evidence-run left them, or gzipped (as committed under docs/results)
    const path = join(dir, file);
    const bytes = existsSync(path) ? readFileSync(path) : gunzipSync(readFileSync(`${path}.gz`));
    for (const r of decodedCapture(new Uint8Array(bytes), v)) {
      const src = v.src0; // IPv4 source, or the first word of an IPv6 one
      if (kind === 'arrival') bySrc.set(src, (bySrc.get(src) ?? 0) + 1);
      evs.push({ tUs: r.tUs, kind, r, lt: r.lt, src });
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
  const sec = (us: number): number => Math.round(us / 1e3) / 1e3;
  return {
    reportedObserved: c.reportedObserved,
    reportedPredicted: c.reportedPredicted,
    reportedClamped: c.reportedClamped,
    reportedLost: c.reportedLost,
    raisedToPrevious: c.raisedToPrevious,
    waitedUnpredicted: c.waitedUnpredicted,
    deferred: c.deferred,
    predictionsChecked: c.predictionsChecked,
    predictionsBad: c.predictionsBad,
    lateS: sec(c.lateSumUs),
    absErrorS: sec(c.predictionAbsErrorSumUs),
  };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { set: { type: 'string', multiple: true }, 'queue-limit-bytes': { type: 'string', default: '37500' } } });
  const dir = positionals[0];
  if (dir === undefined) throw new Error('usage: replay-timing DIR [--set key=value]...');
  const sets = values.set ?? [];
  process.stdout.write(`${JSON.stringify({ dir, set: sets, ...replayTiming(dir, sets, Number(values['queue-limit-bytes'])) })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
