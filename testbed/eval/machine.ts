/** Machine details recorded with every eval run (the report's "Machine" section). */
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

export function machineInfo(): MachineInfo {
  const c = cpus();
  const la = loadavg();
  let kernel = `${osType()} ${release()}`;
  try {
    kernel = readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    // not Linux
  }
  return {
    hostname: hostname(),
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    kernel,
    node: process.version,
    loadAverage: [la[0] ?? 0, la[1] ?? 0, la[2] ?? 0].map((x) => Math.round(x * 100) / 100) as [number, number, number],
    memTotalMiB: Math.round(totalmem() / 2 ** 20),
  };
}
