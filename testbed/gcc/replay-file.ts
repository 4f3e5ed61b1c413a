/**
 * Replays one reported series through the goog_cc replay and prints a summary.
 *
 *   node dist/testbed/gcc/replay-file.js FILE.json [--after-ms T] [--feedback-interval-ms F]
 *        [--rtt-ms R] [--rows]
 *
 * FILE.json: an array of { seq, sendTimeMs, sizeBytes, arrivalTimeMs (null = lost) } sorted by
 * seq, or an object with such an array under "series" or "packets". Prints one JSON object
 * (the summary); with --rows, also one JSON line per group row before it.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { replayGcc, type GccPacket, type ReplayGccOptions, type ReplayGccResult } from './replay-gcc.js';

export interface ReplayFileSummary {
  readonly counts: ReplayGccResult['counts'];
  readonly firstOveruseMs: number | null;
  readonly spanMs: number;
  /** share of group rows in each state */
  readonly stateShare: { readonly normal: number; readonly overusing: number; readonly underusing: number };
  readonly ackedBitrateBps: { readonly first: number | null; readonly last: number | null; readonly min: number | null; readonly max: number | null };
  /** the first decreases: "GCC would have set its rate to targetBps at tMs" */
  readonly decreases: ReplayGccResult['decreases'];
  readonly decreaseCount: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a parsed JSON document into a series; throws with the first bad element's index. */
export function parseGccSeries(doc: unknown): GccPacket[] {
  const arr: unknown = isRecord(doc) ? (doc['series'] ?? doc['packets']) : doc;
  if (!Array.isArray(arr)) throw new Error('expected an array of packets (or {series: [...]})');
  return arr.map((v: unknown, i): GccPacket => {
    if (!isRecord(v)) throw new Error(`packet ${String(i)}: not an object`);
    const { seq, sendTimeMs, sizeBytes, arrivalTimeMs } = v;
    const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    if (!finite(seq) || !finite(sendTimeMs) || !finite(sizeBytes) || !(arrivalTimeMs === null || finite(arrivalTimeMs))) {
      throw new Error(`packet ${String(i)}: needs numeric seq, sendTimeMs, sizeBytes and arrivalTimeMs (number or null)`);
    }
    return { seq, sendTimeMs, sizeBytes, arrivalTimeMs };
  });
}

export function summarizeReplay(series: readonly GccPacket[], r: ReplayGccResult, maxDecreases = 10): ReplayFileSummary {
  const n = r.groups.length;
  const share = (s: string): number => (n === 0 ? 0 : r.groups.filter((g) => g.state === s).length / n);
  const rates = r.ackedBitrate.map((a) => a.bitrateBps);
  const lo = series.reduce((m, p) => Math.min(m, p.sendTimeMs), Infinity);
  const hi = series.reduce((m, p) => Math.max(m, p.sendTimeMs), -Infinity);
  return {
    counts: r.counts,
    firstOveruseMs: r.firstOveruseMs,
    spanMs: series.length === 0 ? 0 : hi - lo,
    stateShare: { normal: share('normal'), overusing: share('overusing'), underusing: share('underusing') },
    ackedBitrateBps: {
      first: rates[0] ?? null,
      last: rates.at(-1) ?? null,
      min: rates.length === 0 ? null : rates.reduce((a, b) => Math.min(a, b)),
      max: rates.length === 0 ? null : rates.reduce((a, b) => Math.max(a, b)),
    },
    decreases: r.decreases.slice(0, maxDecreases),
    decreaseCount: r.decreases.length,
  };
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (Number.isNaN(x)) throw new Error(`--${name}: not a number: ${v}`);
  return x;
}

function main(argv: readonly string[]): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      'after-ms': { type: 'string' },
      'feedback-interval-ms': { type: 'string' },
      'rtt-ms': { type: 'string' },
      rows: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write('usage: replay-file FILE.json [--after-ms T] [--feedback-interval-ms F] [--rtt-ms R] [--rows]\n');
    return 2;
  }
  const series = parseGccSeries(JSON.parse(readFileSync(file, 'utf8')) as unknown);
  const after = num(values['after-ms'], 'after-ms');
  const fb = num(values['feedback-interval-ms'], 'feedback-interval-ms');
  const rtt = num(values['rtt-ms'], 'rtt-ms');
  const opts: ReplayGccOptions = {
    ...(after !== undefined ? { overuseAfterMs: after } : {}),
    ...(fb !== undefined ? { feedbackIntervalMs: fb } : {}),
    ...(rtt !== undefined ? { rttMs: rtt } : {}),
  };
  const r = replayGcc(series, opts);
  if (values.rows) for (const g of r.groups) process.stdout.write(`${JSON.stringify(g)}\n`);
  process.stdout.write(`${JSON.stringify(summarizeReplay(series, r), null, 2)}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (e: unknown) {
    process.stderr.write(`replay-file: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
