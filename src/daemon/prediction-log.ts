/**
 * The per-packet prediction log (`zhuge run --prediction-log FILE`): one line per downlink packet
 * the eth tap saw, with what the Fortune Teller predicted for it, so a testbed can join it with its
 * ground truth (the Wi-Fi testbed's medium logs each delivered packet under the same match key,
 * src/protocols/flow-key.ts). A diagnostic for test beds, not for a router in service: a second of
 * a busy link is a few hundred kilobytes of text.
 *
 * The hot path only stores numbers in preallocated arrays (no allocation, no I/O); flush(), from
 * the daemon's housekeeping, turns them into text and appends it to the file without blocking.
 * When a second's packets overflow the arrays, the rest are counted (`dropped`), not logged.
 *
 *   # wallUs key queue totalMs qLongMs qShortMs txMs
 *   1733612345123456 2864061211 2 12.406 8.113 3.102 1.191
 *
 * wallUs: the packet's arrival on the eth tap (wall clock, µs); queue: the station queue's index
 * (0: the default queue); the delays in ms.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import type { Prediction } from '../fortune-teller/index.js';

export const PREDICTION_LOG_HEADER = '# wallUs key queue totalMs qLongMs qShortMs txMs\n';

export class PredictionLog {
  private readonly tUs: Float64Array;
  private readonly key: Uint32Array;
  private readonly queue: Uint16Array;
  private readonly ms: Float32Array;
  private n = 0;
  /** packets not logged: the arrays were full before a flush */
  dropped = 0;
  /** lines written so far */
  written = 0;
  /** failed writes (the file's lines lost with them), and the last one's error */
  writeErrors = 0;
  lastError: string | undefined;
  private writing: Promise<void>;

  constructor(
    readonly path: string,
    /** the engine's monotonic µs to wall-clock µs */
    private readonly toWallUs: (monoUs: number) => number,
    readonly capacity = 1 << 16,
  ) {
    this.tUs = new Float64Array(capacity);
    this.key = new Uint32Array(capacity);
    this.queue = new Uint16Array(capacity);
    this.ms = new Float32Array(capacity * 4);
    this.writing = writeFile(path, PREDICTION_LOG_HEADER, { mode: 0o600 }).catch((e: unknown) => this.failed(e));
  }

  /** One packet's prediction (hot path). */
  add(tUs: number, key: number, queue: number, p: Prediction): void {
    const i = this.n;
    if (i >= this.capacity) {
      this.dropped++;
      return;
    }
    this.tUs[i] = tUs;
    this.key[i] = key;
    this.queue[i] = queue;
    const m = i * 4;
    this.ms[m] = p.totalMs;
    this.ms[m + 1] = p.qLongMs;
    this.ms[m + 2] = p.qShortMs;
    this.ms[m + 3] = p.txMs;
    this.n = i + 1;
  }

  /** The lines stored since the last flush, as text (cold path), and the arrays emptied. */
  take(): string {
    const lines: string[] = [];
    for (let i = 0; i < this.n; i++) {
      const m = i * 4;
      const f = (x: number | undefined): string => (x ?? 0).toFixed(3);
      lines.push(`${Math.round(this.toWallUs(this.tUs[i] ?? 0))} ${this.key[i] ?? 0} ${this.queue[i] ?? 0} ${f(this.ms[m])} ${f(this.ms[m + 1])} ${f(this.ms[m + 2])} ${f(this.ms[m + 3])}`);
    }
    this.n = 0;
    this.written += lines.length;
    return lines.length > 0 ? lines.join('\n') + '\n' : '';
  }

  /** Appends what was stored (writes are chained: the file keeps the packets' order). Never rejects. */
  flush(): Promise<void> {
    const text = this.take();
    if (text !== '') this.writing = this.writing.then(() => appendFile(this.path, text)).catch((e: unknown) => this.failed(e));
    return this.writing;
  }

  /** For /status. */
  status(): { path: string; written: number; dropped: number; writeErrors: number; lastError?: string } {
    return { path: this.path, written: this.written, dropped: this.dropped, writeErrors: this.writeErrors, ...(this.lastError !== undefined ? { lastError: this.lastError } : {}) };
  }

  private failed(e: unknown): void {
    this.writeErrors++;
    this.lastError = String(e);
  }
}
