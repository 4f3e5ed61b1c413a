/**
 * The REMB lifts the watchdog sends when the daemon dies (kill -9, OOM, a crash) with rate caps
 * in force: a sender keeps the last REMB it got for the rest of its call, so a cap must not
 * outlive the daemon (flows.rtp.signal remb / both, src/feedback-updater/remb-cap.ts).
 *
 * The daemon keeps the lifts of the caps in force in a file (one IP datagram per line, hex),
 * rewritten atomically when they change and removed when none is in force or the daemon stops;
 * the watchdog's removal commands end with liftCommand(path), which runs send-lifts.js on it
 * (the raw socket needs the native addon, which the watchdog itself does not load). A lift sent
 * when no cap was in force changes nothing at the sender.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from './nfqueue.js';

/** Where the daemon of chain `chain` keeps its lifts. */
export function capLiftPath(chain: string, dir = tmpdir()): string {
  return join(dir, `zhuge-remb-lifts-${chain}`);
}

/** The /bin/sh line that sends the lifts in `path` (nothing when it is absent); never fails. */
export function liftCommand(path: string, node = process.execPath): string {
  const script = join(packageRoot(), 'dist', 'src', 'daemon', 'send-lifts.js');
  return `'${node}' '${script}' '${path}' >/dev/null 2>&1 || true`;
}

/** The lines of the file: one datagram per line, hex. */
export function encodeLifts(pkts: readonly Uint8Array[]): string {
  return pkts.map((p) => Buffer.from(p).toString('hex')).join('\n');
}

export function decodeLifts(text: string): Uint8Array[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^([0-9a-f]{2})+$/i.test(l))
    .map((l) => Uint8Array.from(Buffer.from(l, 'hex')));
}

export class CapLiftFile {
  private last = '';

  constructor(readonly path: string) {}

  /** At start, with the instance lock held: a file left by a daemon that died is removed (its watchdog lifted its caps). */
  reset(): void {
    rmSync(this.path, { force: true });
    this.last = '';
  }

  /** Keeps the file equal to `pkts` (written only when they changed; removed when empty). */
  update(pkts: readonly Uint8Array[]): void {
    const text = encodeLifts(pkts);
    if (text === this.last) return;
    if (text === '') {
      rmSync(this.path, { force: true });
    } else {
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, `${text}\n`, { mode: 0o600 });
      renameSync(tmp, this.path);
    }
    this.last = text;
  }

  /** No cap in force any more (the daemon lifted them itself). */
  clear(): void {
    this.update([]);
  }
}
