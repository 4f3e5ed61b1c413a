/** Machine details recorded with every eval run (the report's "Machine" section). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem, type as osType } from 'node:os';

export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cores: number;
  kernel: string;
  node: string;
  loadAverage: [number, number, number];
  memTotalMiB: number;
  chromium?: string;
}

export function machineInfo(o: { chromiumPath?: string } = {}): MachineInfo {
  const c = cpus();
  const la = loadavg();
  let kernel = `${osType()} ${release()}`;
  try {
    kernel = readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    // not Linux
  }
  let chromium: string | undefined;
  if (o.chromiumPath !== undefined) {
    try {
      chromium = execFileSync(o.chromiumPath, ['--version'], { timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      chromium = 'unknown (--version failed)';
    }
  }
  return {
    ...(chromium !== undefined ? { chromium } : {}),
    hostname: hostname(),
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    kernel,
    node: process.version,
    loadAverage: [la[0] ?? 0, la[1] ?? 0, la[2] ?? 0].map((x) => Math.round(x * 100) / 100) as [number, number, number],
    memTotalMiB: Math.round(totalmem() / 2 ** 20),
  };
}
