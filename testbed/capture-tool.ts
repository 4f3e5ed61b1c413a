/**
 * A one-direction packet capture to a pcap file, run inside a testbed namespace (the same tap the
 * daemon uses: libpcap through src/daemon/capture.ts, kernel timestamps, no buffering).
 *
 *   node dist/testbed/capture-tool.js --dev IF --direction inbound|outbound|any --out FILE
 *        [--filter BPF] [--snap N]
 *
 * Prints `{"event":"ready"}` once the tap is open, captures until SIGTERM/SIGINT, then writes
 * the file and prints `{"event":"done","packets":N,"kernelDrops":D}`.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Tap, type TapDirection } from '../src/daemon/capture.js';
import { pcapWriter } from '../src/protocols/pcap-file.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      dev: { type: 'string' },
      direction: { type: 'string', default: 'any' },
      out: { type: 'string' },
      filter: { type: 'string', default: 'ip or ip6' },
      snap: { type: 'string', default: '256' },
    },
    strict: true,
  });
  const dev = values.dev;
  const out = values.out;
  const direction = values.direction;
  if (dev === undefined || out === undefined || (direction !== 'inbound' && direction !== 'outbound' && direction !== 'any')) {
    process.stderr.write('usage: capture-tool --dev IF --direction inbound|outbound|any --out FILE [--filter BPF] [--snap N]\n');
    process.exit(2);
  }
  const snap = Number(values.snap);
  const recs: Array<{ tUs: number; data: Uint8Array; origLen: number }> = [];
  const tap = new Tap({ device: dev, direction: direction as TapDirection, filter: values.filter, snapLength: snap }, (wallUs, data, origLen) => {
    recs.push({ tUs: wallUs, data: Uint8Array.from(data), origLen });
  });
  const writer = pcapWriter(tap.dlt, snap);
  const header = writer.header();
  const finish = (): void => {
    const s = tap.stats();
    tap.close();
    writeFileSync(out, Buffer.concat([header, ...recs.map((r) => writer.record(r.tUs, r.data, r.origLen))]));
    process.stdout.write(`${JSON.stringify({ event: 'done', packets: recs.length, kernelDrops: s.kernelDrops })}\n`);
    process.exit(0);
  };
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
  process.stdout.write(`${JSON.stringify({ event: 'ready', dlt: tap.dlt })}\n`);
}

main();
