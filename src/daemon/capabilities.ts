/**
 * Whether this process may run the daemon: root, or the two capabilities it needs
 * (CAP_NET_ADMIN for iptables, NFQUEUE and rtnetlink; CAP_NET_RAW for the capture taps and the
 * feedback socket), as a systemd unit with AmbientCapabilities or procd's `capabilities` gives
 * them to an unprivileged user. Read from the effective set in /proc/self/status.
 */
import { readFileSync } from 'node:fs';

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

/** The effective capability bits of a /proc/<pid>/status text (0n when absent). */
export function effectiveCaps(statusText: string): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(statusText);
  return m?.[1] !== undefined ? BigInt(`0x${m[1]}`) : 0n;
}

/** This process's effective capability bits (0n without /proc). */
export function ownEffectiveCaps(readStatus = (): string => readFileSync('/proc/self/status', 'utf8')): bigint {
  try {
    return effectiveCaps(readStatus());
  } catch {
    return 0n;
  }
}

/** The capabilities of `needed` missing from `caps`, by name. */
export function missingCaps(caps: bigint, needed: ReadonlyArray<[string, number]> = [['CAP_NET_ADMIN', CAP_NET_ADMIN], ['CAP_NET_RAW', CAP_NET_RAW]]): string[] {
  return needed.filter(([, bit]) => (caps & (1n << BigInt(bit))) === 0n).map(([name]) => name);
}

/** Undefined when this process may run the daemon, else why not. */
export function privilegeProblem(uid = process.getuid?.(), readStatus = (): string => readFileSync('/proc/self/status', 'utf8')): string | undefined {
  if (uid === 0) return undefined;
  let caps = 0n;
  try {
    caps = effectiveCaps(readStatus());
  } catch {
    // no /proc: only root is known to work
  }
  const missing = missingCaps(caps);
  return missing.length === 0 ? undefined : `must run as root or with CAP_NET_ADMIN and CAP_NET_RAW (missing ${missing.join(', ')}): it captures packets and installs iptables rules`;
}
