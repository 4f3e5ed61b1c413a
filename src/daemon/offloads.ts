/**
 * What on the Wi-Fi path hides packets from zhuge, checked once at start:
 *
 * - **GRO / GSO / TSO / LRO** on the tapped interfaces (and the bridge): the taps then see merged
 *   super-packets, so the queue model's byte counts and the departure matching go wrong
 *   (`ethtool -k`). While running, zhuge_capture_oversize_packets_total counts captured frames
 *   longer than the interface's MTU allows, whatever the cause.
 * - **Flow offloading** (OpenWrt fw4's `flow_offloading`, an nftables flowtable; fw3's iptables
 *   `FLOWOFFLOAD` target): established flows are forwarded past the FORWARD chain, so NFQUEUE
 *   never sees their uplink and zhuge treats nothing.
 *
 * The parsers are pure; `checkPathOffloads` spawns `ethtool`, `nft` and `iptables-save` (each
 * optional: a missing tool leaves that answer unknown).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type OffloadFeature = 'gro' | 'gso' | 'tso' | 'lro';
export const OFFLOAD_FEATURES: readonly OffloadFeature[] = ['gro', 'gso', 'tso', 'lro'];

const ETHTOOL_NAMES: Record<string, OffloadFeature> = {
  'generic-receive-offload': 'gro',
  'generic-segmentation-offload': 'gso',
  'tcp-segmentation-offload': 'tso',
  'large-receive-offload': 'lro',
};

/** `ethtool -k DEV` output → the features that matter here, on or off. */
export function parseEthtoolFeatures(text: string): Partial<Record<OffloadFeature, boolean>> {
  const out: Partial<Record<OffloadFeature, boolean>> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9-]+):\s+(on|off)\b/.exec(line);
    const f = m?.[1] !== undefined ? ETHTOOL_NAMES[m[1]] : undefined;
    if (f !== undefined) out[f] = m?.[2] === 'on';
  }
  return out;
}

/** `nft list flowtables` output → the devices of every flowtable. */
export function parseNftFlowtableDevices(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/devices\s*=\s*\{([^}]*)\}/g)) {
    for (const d of (m[1] ?? '').split(',')) {
      const name = d.trim().replace(/^"|"$/g, '');
      if (name !== '') out.push(name);
    }
  }
  return out;
}

/** iptables-save output → whether a FLOWOFFLOAD rule exists (fw3's flow offloading). */
export function hasIptablesFlowOffload(text: string): boolean {
  return text.split('\n').some((l) => /^-A \S+ .*-j FLOWOFFLOAD\b/.test(l));
}

export interface OffloadReport {
  /** per device: the features read (absent: ethtool unavailable or the device unknown to it) */
  devices: Record<string, Partial<Record<OffloadFeature, boolean>>>;
  /** a flowtable covers one of the devices, or a FLOWOFFLOAD rule exists; undefined: could not tell */
  flowOffload: boolean | undefined;
  /** how flow offloading was found (the flowtable's devices, or the iptables rule) */
  flowOffloadHow?: string;
}

/** What to tell the operator (pure): one line per problem, with the command that fixes it. */
export function offloadAdvice(r: OffloadReport): string[] {
  const out: string[] = [];
  for (const [dev, f] of Object.entries(r.devices)) {
    const on = OFFLOAD_FEATURES.filter((k) => f[k] === true);
    if (on.length === 0) continue;
    out.push(
      `${on.join('/').toUpperCase()} on ${dev}: the taps see merged super-packets and the queue model's byte counts go wrong; ` +
        `turn them off: ethtool -K ${dev} ${on.map((k) => `${k} off`).join(' ')}`,
    );
  }
  if (r.flowOffload === true) {
    out.push(
      `flow offloading is on (${r.flowOffloadHow ?? 'found'}): established flows bypass FORWARD, so zhuge never sees their uplink; ` +
        `turn it off (OpenWrt: uci set firewall.@defaults[0].flow_offloading=0; uci set firewall.@defaults[0].flow_offloading_hw=0; uci commit firewall; service firewall restart)`,
    );
  }
  return out;
}

function run(cmd: string, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: 5000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout) => resolve(err === null ? String(stdout) : undefined));
  });
}

/** Reads the offloads of `devs` and whether flow offloading covers them. Never throws. */
export async function checkPathOffloads(devs: readonly string[]): Promise<OffloadReport> {
  const devices: OffloadReport['devices'] = {};
  for (const dev of devs) {
    const text = await run('ethtool', ['-k', dev]);
    if (text !== undefined) devices[dev] = parseEthtoolFeatures(text);
  }
  const report: OffloadReport = { devices, flowOffload: undefined };
  const nft = await run('nft', ['list', 'flowtables']);
  const ipt = await run('iptables-save', ['-t', 'filter']);
  if (nft !== undefined) {
    const covered = parseNftFlowtableDevices(nft).filter((d) => devs.includes(d));
    report.flowOffload = covered.length > 0;
    if (covered.length > 0) report.flowOffloadHow = `an nftables flowtable on ${covered.join(', ')}`;
  }
  if (ipt !== undefined && hasIptablesFlowOffload(ipt)) {
    report.flowOffload = true;
    report.flowOffloadHow = 'an iptables FLOWOFFLOAD rule';
  } else if (ipt !== undefined && report.flowOffload === undefined) report.flowOffload = false;
  return report;
}

/** The largest frame a tap on `dev` should capture: MTU + Ethernet header + one VLAN tag. */
export function maxFrameBytes(dev: string, sysRoot = '/sys/class/net'): number {
  try {
    const mtu = Number.parseInt(readFileSync(`${sysRoot}/${dev}/mtu`, 'utf8').trim(), 10);
    return Number.isInteger(mtu) && mtu > 0 ? mtu + 18 : 65_535;
  } catch {
    return 65_535;
  }
}
