/**
 * One evidence call (evidence-run.ts) as a timeline around the drop, in fixed bins: where a late
 * frame waited. Per bin: the longest sojourn in the Wi-Fi queue of the packets that arrived at the
 * AP in it and how many the queue dropped (packets.tsv), the AP's arrival rate, the largest frame
 * delay and the frames shown at the receiver (receiver.tsv), and the sender's own view (sender.tsv:
 * GCC's available bitrate, the encoders' target, the bitrate sent, the pacer's queue delay).
 *
 *   node dist/testbed/webrtc/call-timeline.js DIR [BIN_MS=250] [FROM_MS=-1000] [TO_MS=15000]
 *
 * The packet table's clock (pcap time) and the stats' (ms from the drop) are aligned on the drop:
 * the first packet after 5 s of the call that waited more than 30 ms marks it, less 50 ms (the
 * call starts from a steady state with a short queue, so this is the first packet the drop held).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export type TsvRow = Record<string, string>;

export function parseTsv(text: string): TsvRow[] {
  const lines = text.trim().split('\n');
  const head = (lines[0] ?? '').split('\t');
  return lines.slice(1).map((l) => {
    const c = l.split('\t');
    return Object.fromEntries(head.map((h, i) => [h, c[i] ?? '']));
  });
}

const num = (s: string | undefined): number | undefined => {
  if (s === undefined || s === '') return undefined;
  const x = Number(s);
  return Number.isFinite(x) ? x : undefined;
};

export interface TimelineBin {
  tFromDropMs: number;
  apSojournMaxMs: number;
  queueDrops: number;
  apArrivalMbps: number;
  frameDelayMaxMs: number;
  frames: number;
  availableMbps: string;
  targetMbps: string;
  sentMbps: string;
  pacerDelayMs: string;
}

/** The packet table's time of the drop (ms), found as the file comment says; undefined when no packet waited. */
export function dropInTable(packets: readonly TsvRow[]): number | undefined {
  for (const p of packets) {
    const a = num(p['apArrivalMs']);
    const d = num(p['departureMs']);
    if (a !== undefined && d !== undefined && a > 5000 && d - a > 30) return a - 50;
  }
  return undefined;
}

export function callTimeline(packets: readonly TsvRow[], sender: readonly TsvRow[], receiver: readonly TsvRow[], binMs = 250, fromMs = -1000, toMs = 15000): TimelineBin[] {
  const drop = dropInTable(packets) ?? Number.NaN;
  const n = Math.ceil((toMs - fromMs) / binMs);
  const bins: TimelineBin[] = Array.from({ length: n }, (_, i) => ({
    tFromDropMs: fromMs + i * binMs,
    apSojournMaxMs: 0,
    queueDrops: 0,
    apArrivalMbps: 0,
    frameDelayMaxMs: 0,
    frames: 0,
    availableMbps: '',
    targetMbps: '',
    sentMbps: '',
    pacerDelayMs: '',
  }));
  const binOf = (t: number): TimelineBin | undefined => (t >= fromMs && t < toMs ? bins[Math.floor((t - fromMs) / binMs)] : undefined);
  for (const p of packets) {
    const a = num(p['apArrivalMs']);
    if (a === undefined) continue;
    const b = binOf(a - drop);
    if (b === undefined) continue;
    const d = num(p['departureMs']);
    if (d === undefined) b.queueDrops++;
    else b.apSojournMaxMs = Math.max(b.apSojournMaxMs, d - a);
    b.apArrivalMbps += ((num(p['sizeBytes']) ?? 0) * 8) / (binMs * 1000);
  }
  for (const r of receiver) {
    const t = num(r['tFromDropMs']);
    const b = r['kind'] === 'frame' && t !== undefined ? binOf(t) : undefined;
    if (b === undefined) continue;
    b.frameDelayMaxMs = Math.max(b.frameDelayMaxMs, num(r['delayMs']) ?? 0);
    b.frames++;
  }
  for (const s of sender) {
    const t = num(s['tFromDropMs']);
    const b = t !== undefined ? binOf(t) : undefined;
    if (b === undefined) continue;
    b.availableMbps = s['availableOutgoingMbps'] ?? '';
    b.targetMbps = s['targetMbps'] ?? '';
    b.sentMbps = s['sentMbps'] ?? '';
    b.pacerDelayMs = s['pacerDelayMs'] ?? '';
  }
  return bins;
}

export function timelineText(bins: readonly TimelineBin[]): string {
  const head = 't from drop (ms) | AP sojourn max (ms) | AP drops | AP arrivals (Mbit/s) | frame delay max (ms) | frames | GCC available | encoder target | sent (Mbit/s) | pacer delay (ms)';
  const rows = bins.map((b) =>
    [b.tFromDropMs, b.apSojournMaxMs.toFixed(0), b.queueDrops, b.apArrivalMbps.toFixed(2), b.frameDelayMaxMs.toFixed(0), b.frames, b.availableMbps, b.targetMbps, b.sentMbps, b.pacerDelayMs].join(' | '),
  );
  return [head, ...rows].join('\n');
}

/** Where the late frames (delay above 400 ms) waited, from the endpoints' own clock: the sender's pacer or after it. */
export interface LateFrameSplit {
  lateFrames: number;
  /** their mean frame delay (ms) */
  meanDelayMs: number;
  /** the mean pacer delay the sender reported when each was captured (ms): the part spent in the sender */
  meanPacerMs: number;
  /** the rest (ms): the network (the AP's queue above all) and the receiver's jitter buffer */
  meanAfterPacerMs: number;
}

/**
 * For every frame shown late (delay > 400 ms) between fromMs and toMs (ms from the drop): the
 * sender's pacer delay in the stats sample nearest to its capture (shown at t with delay d:
 * captured at t - d). Both series are on the stats' clock, so no capture alignment is needed.
 */
export function lateFrameSplit(sender: readonly TsvRow[], receiver: readonly TsvRow[], fromMs = 0, toMs = Number.POSITIVE_INFINITY): LateFrameSplit {
  const pacer: Array<[number, number]> = [];
  for (const s of sender) {
    const t = num(s['tFromDropMs']);
    const p = num(s['pacerDelayMs']);
    if (t !== undefined && p !== undefined) pacer.push([t, p]);
  }
  let n = 0;
  let sumDelay = 0;
  let sumPacer = 0;
  pacer.sort((a, b) => a[0] - b[0]);
  /** the sample nearest to t (binary search) */
  const nearest = (t: number): number | undefined => {
    let lo = 0;
    let hi = pacer.length - 1;
    if (hi < 0) return undefined;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((pacer[mid]?.[0] ?? 0) < t) lo = mid + 1;
      else hi = mid;
    }
    const after = pacer[lo];
    const before = pacer[lo - 1];
    return before !== undefined && after !== undefined && t - before[0] < after[0] - t ? before[1] : after?.[1];
  };
  for (const r of receiver) {
    const t = num(r['tFromDropMs']);
    const d = num(r['delayMs']);
    if (r['kind'] !== 'frame' || t === undefined || d === undefined || d <= 400 || t < fromMs || t >= toMs) continue;
    const p = nearest(t - d);
    if (p === undefined) continue;
    n++;
    sumDelay += d;
    sumPacer += Math.min(p, d);
  }
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  return n === 0
    ? { lateFrames: 0, meanDelayMs: Number.NaN, meanPacerMs: Number.NaN, meanAfterPacerMs: Number.NaN }
    : { lateFrames: n, meanDelayMs: r1(sumDelay / n), meanPacerMs: r1(sumPacer / n), meanAfterPacerMs: r1((sumDelay - sumPacer) / n) };
}

function readMaybeGz(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : gunzipSync(readFileSync(`${path}.gz`)).toString('utf8');
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write('usage: node dist/testbed/webrtc/call-timeline.js DIR [BIN_MS] [FROM_MS] [TO_MS]\n');
    process.exit(2);
  }
  const [bin, from, to] = [3, 4, 5].map((i) => num(process.argv[i]));
  const bins = callTimeline(
    parseTsv(readMaybeGz(join(dir, 'packets.tsv'))),
    parseTsv(readFileSync(join(dir, 'sender.tsv'), 'utf8')),
    parseTsv(readFileSync(join(dir, 'receiver.tsv'), 'utf8')),
    bin ?? 250,
    from ?? -1000,
    to ?? 15000,
  );
  process.stdout.write(`${timelineText(bins)}\n`);
  const split = lateFrameSplit(parseTsv(readFileSync(join(dir, 'sender.tsv'), 'utf8')), parseTsv(readFileSync(join(dir, 'receiver.tsv'), 'utf8')), 0);
  process.stdout.write(`late frames after the drop: ${split.lateFrames}, mean delay ${split.meanDelayMs} ms: ${split.meanPacerMs} ms in the sender's pacer, ${split.meanAfterPacerMs} ms after it\n`);
}
