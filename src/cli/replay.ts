/**
 * `zhuge replay --pcap FILE [--egress-pcap FILE] [--discipline fifo|fq] [--json]`
 *
 * Runs the codecs over a capture (pcap or pcapng) and prints counts by class and malformed
 * counts by reason; given the egress capture of the same queue, also runs the Fortune Teller and
 * prints the prediction error distribution.
 */
import { parseCommand } from './args.js';
import { readFileSync } from 'node:fs';
import { classifyCapture, predictionAccuracy, type AccuracyReport, type ClassCounts } from '../replay/replay.js';
import { defaultFortuneTellerConfig } from '../fortune-teller/index.js';
import { ParseError } from '../protocols/errors.js';

const USAGE = `usage: zhuge replay --pcap FILE [--egress-pcap FILE] [--discipline fifo|fq] [--json]

  --pcap FILE         capture to classify (pcap or pcapng); with --egress-pcap: the packets
                      entering the queue (e.g. the AP's wired side, inbound)
  --egress-pcap FILE  the same queue's departures (e.g. the AP's Wi-Fi side, outbound):
                      prints the Fortune Teller's prediction error (predicted at arrival vs
                      departure minus arrival), overall and per transport (tcp, udp)
  --discipline D      how that queue serves its flows (queue.discipline): fifo (default) or fq
  --json              one machine-readable object instead of the text report`;

export interface ReplayOutput {
  pcap: string;
  counts: Omit<ClassCounts, 'twccExtensionIds'> & { twccExtensionIds: number[] };
  malformedTotal: number;
  egressPcap?: string;
  accuracy?: AccuracyReport;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('replay', USAGE, argv, {
    pcap: { type: 'string' },
    'egress-pcap': { type: 'string' },
    discipline: { type: 'string', default: 'fifo' },
    json: { type: 'boolean', default: false },
  });
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const discipline = values.discipline;
  if (discipline !== 'fifo' && discipline !== 'fq') {
    console.error(`zhuge replay: --discipline must be fifo or fq (got ${discipline})\n${USAGE}`);
    return 2;
  }
  if (values.pcap === undefined) {
    console.error(`zhuge replay: --pcap is required\n${USAGE}`);
    return 2;
  }
  let ingress: Buffer;
  let egress: Buffer | undefined;
  try {
    ingress = readFileSync(values.pcap);
    if (values['egress-pcap'] !== undefined) egress = readFileSync(values['egress-pcap']);
  } catch (err) {
    console.error(`zhuge replay: ${(err as Error).message}`);
    return 1;
  }
  let out: ReplayOutput;
  try {
    const counts = classifyCapture(ingress);
    const ids = [...new Set(counts.twccExtensionIds.map((x) => x.extId))].sort((a, b) => a - b);
    out = {
      pcap: values.pcap,
      counts: { ...counts, twccExtensionIds: ids },
      malformedTotal: Object.values(counts.malformed).reduce((a, b) => a + b, 0),
    };
    if (egress !== undefined && values['egress-pcap'] !== undefined) {
      out.egressPcap = values['egress-pcap'];
      out.accuracy = predictionAccuracy(ingress, egress, { ...defaultFortuneTellerConfig, discipline });
    }
  } catch (err) {
    if (err instanceof ParseError) {
      console.error(`zhuge replay: not a readable capture file: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (values.json) {
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  console.log(formatReport(out));
  return 0;
}

function formatReport(o: ReplayOutput): string {
  const c = o.counts;
  const lines = [`${o.pcap}: ${c.packets} packets`, '', 'class                 packets'];
  for (const [k, n] of Object.entries(c.classes)) if (n > 0) lines.push(`  ${k.padEnd(20)} ${String(n).padStart(7)}`);
  lines.push('');
  lines.push(`transport-wide extension id(s): ${c.twccExtensionIds.length > 0 ? c.twccExtensionIds.join(', ') : 'none detected'}`);
  lines.push(`plaintext TWCC feedback packets: ${c.twccFeedbackPackets}`);
  lines.push(`RFC 8888 feedback packets: ${c.ccfbFeedbackPackets}`);
  lines.push(`SRTCP transports: ${c.srtcpTransports}`);
  lines.push(`malformed: ${o.malformedTotal}${o.malformedTotal > 0 ? ' ' + JSON.stringify(c.malformed) + ' in ' + JSON.stringify(c.malformedWhere) : ''}`);
  const a = o.accuracy;
  if (a !== undefined) {
    lines.push('');
    lines.push(`prediction vs actual (${o.egressPcap}): ${a.arrivals} arrivals, ${a.departures} departures, ${a.matched} matched`);
    lines.push('                          p50      p90      p99     mean   (ms)');
    const row = (name: string, p: { p50: number; p90: number; p99: number; mean: number }): string =>
      `  ${name.padEnd(22)} ${[p.p50, p.p90, p.p99, p.mean].map((x) => x.toFixed(2).padStart(8)).join(' ')}`;
    lines.push(row('|error|, actual<64ms', a.absErrorMsUnder64));
    lines.push(row('|error|, all', a.absErrorMsAll));
    lines.push(row('error (signed)', a.signedErrorMsAll));
    lines.push(row('actual delay', a.actualDelayMs));
    lines.push(row('predicted delay', a.predictedDelayMs));
    for (const t of ['tcp', 'udp'] as const) {
      const b = a.byTransport[t];
      if (b.matched === 0) continue;
      lines.push(`  ${t} (${b.matched} matched):`);
      lines.push(row(`  ${t} error (signed)`, b.signedErrorMs));
      lines.push(row(`  ${t} actual delay`, b.actualDelayMs));
    }
  }
  return lines.join('\n');
}
