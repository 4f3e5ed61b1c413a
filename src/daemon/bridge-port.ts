/**
 * Whether the Wi-Fi interface is a port of a Linux bridge (OpenWrt's default: the AP interface is
 * a port of `br-lan`), read from sysfs; and whether bridge netfilter hands bridged frames to
 * iptables. I/O only: interception.ts decides what follows. `ip netns exec` mounts the namespace's
 * own /sys, so this reads the namespace the daemon runs in.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { Config } from '../config/index.js';
import type { WifiAttachment } from './rule-spec.js';

/** The bridge `dev` is a port of, or undefined (not a port, or no such interface). */
export function bridgeOf(dev: string, sysRoot = '/sys/class/net'): string | undefined {
  if (dev.includes('/') || dev === '.' || dev === '..') return undefined;
  // `brport` exists only on bridge ports (a bond or VRF master has a `master` link too)
  if (!existsSync(`${sysRoot}/${dev}/brport`)) return undefined;
  try {
    return basename(readlinkSync(`${sysRoot}/${dev}/master`));
  } catch {
    return undefined;
  }
}

/**
 * net.bridge.bridge-nf-call-iptables (family 4) or -ip6tables (6): whether frames bridged from
 * port to port traverse iptables' FORWARD (br_netfilter). undefined when br_netfilter is absent.
 */
export function bridgeNfCalls(family: 4 | 6, procRoot = '/proc/sys/net/bridge'): boolean | undefined {
  try {
    return readFileSync(`${procRoot}/bridge-nf-call-ip${family === 6 ? '6' : ''}tables`, 'utf8').trim() === '1';
  } catch {
    return undefined;
  }
}

/** Where the configured wlan interface sits: a bridge port or not, and what bridge netfilter does. */
export function wifiAttachment(c: Config, sysRoot?: string, procRoot?: string): WifiAttachment {
  const bridge = bridgeOf(c.interfaces.wlan, sysRoot);
  if (bridge === undefined) return {};
  const a: WifiAttachment = { bridge, ethOnBridge: bridgeOf(c.interfaces.eth, sysRoot) === bridge };
  const v4 = bridgeNfCalls(4, procRoot);
  const v6 = bridgeNfCalls(6, procRoot);
  if (v4 !== undefined) a.nfCallIptables = v4;
  if (v6 !== undefined) a.nfCallIp6tables = v6;
  return a;
}
