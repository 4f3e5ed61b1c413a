/**
 * `node dist/src/daemon/send-lifts.js FILE`: sends the IP datagrams in FILE (cap-lift-file.ts:
 * one per line, hex) with the raw socket. Run by the watchdog after the daemon died (or stalled)
 * with REMB caps in force; the file is the daemon's to keep or remove. Exits 0 when FILE is
 * absent or empty; 1 when sending failed.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { decodeLifts } from './cap-lift-file.js';
import { RawSender } from './rawsock.js';

/** `netns`: send from that network namespace (tests); by default the process's own. */
export function sendLifts(path: string, netns?: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return 0;
  }
  const pkts = decodeLifts(text);
  if (pkts.length === 0) return 0;
  const raw = RawSender.open(netns !== undefined ? { netns } : {});
  let failed = 0;
  for (const p of pkts) {
    try {
      raw.send(p);
    } catch {
      failed++;
    }
  }
  raw.close();
  return failed === 0 ? 0 : 1;
}

const argv1 = process.argv[1];
if (argv1 !== undefined && import.meta.url === pathToFileURL(argv1).href) process.exit(sendLifts(process.argv[2] ?? ''));
