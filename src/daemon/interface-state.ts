/**
 * An interface as the kernel shows it in sysfs now: its ifindex and whether it is up (IFF_UP), or
 * undefined when it no longer exists. I/O only (io-health.ts decides what it means). `ip netns
 * exec` mounts the namespace's own /sys, so this reads the namespace the daemon runs in.
 */
import { readFileSync } from 'node:fs';
import type { InterfaceReading } from './io-health.js';

const IFF_UP = 0x1;

export function readInterface(dev: string, sysRoot = '/sys/class/net'): InterfaceReading | undefined {
  // an interface name never holds a slash (the kernel refuses it); anything else is not one
  if (dev.includes('/') || dev === '.' || dev === '..') return undefined;
  try {
    const ifindex = Number.parseInt(readFileSync(`${sysRoot}/${dev}/ifindex`, 'utf8').trim(), 10);
    const flags = Number.parseInt(readFileSync(`${sysRoot}/${dev}/flags`, 'utf8').trim(), 16);
    if (!Number.isInteger(ifindex) || !Number.isInteger(flags)) return undefined;
    return { ifindex, up: (flags & IFF_UP) !== 0 };
  } catch {
    return undefined;
  }
}
