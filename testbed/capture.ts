/**
 * A capture-tool child (testbed/capture-tool.ts: the daemon's libpcap tap writing a pcap) in a
 * testbed namespace (the ap's by default), started and awaited until its tap is open.
 */
import { type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { distScript } from './scripts.js';
import type { Role, Testbed } from './topology.js';

export interface Capture {
  child: ChildProcess;
  /** resolves when the tool wrote its file (after SIGTERM to child) */
  done: Promise<{ packets: number; kernelDrops: number }>;
}

export interface CaptureOptions {
  /** the namespace to capture in (default the AP's) */
  role?: Role;
  /** bytes kept of each packet (default the tool's, 256) */
  snapBytes?: number;
}

export async function startCapture(
  tb: Testbed,
  dev: string,
  direction: 'inbound' | 'outbound' | 'any',
  out: string,
  filter: string,
  opts: CaptureOptions = {},
): Promise<Capture> {
  const args = [distScript('capture-tool'), '--dev', dev, '--direction', direction, '--out', out, '--filter', filter];
  if (opts.snapBytes !== undefined) args.push('--snap', String(opts.snapBytes));
  const child = tb.spawn(opts.role ?? 'ap', process.execPath, args);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  let resolveDone: (v: { packets: number; kernelDrops: number }) => void = () => undefined;
  const done = new Promise<{ packets: number; kernelDrops: number }>((r) => (resolveDone = r));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`capture-tool exited ${String(c)}: ${stderr}`)));
    if (child.stdout === null) return;
    createInterface({ input: child.stdout }).on('line', (l) => {
      const m = JSON.parse(l) as { event: string; packets?: number; kernelDrops?: number };
      if (m.event === 'ready') resolve();
      if (m.event === 'done') resolveDone({ packets: m.packets ?? 0, kernelDrops: m.kernelDrops ?? 0 });
    });
  });
  return { child, done };
}
