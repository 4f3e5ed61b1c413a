/** The interception rules' plan from the configuration and the Wi-Fi interface's attachment (pure). */
import type { Config } from '../config/index.js';
import type { BridgeMarkSpec } from './bridge-mark.js';
import type { RuleSpec } from './rules.js';

/** Where the Wi-Fi interface sits, as read at start (bridge-port.ts). */
export interface WifiAttachment {
  /** the bridge the wlan interface is a port of (OpenWrt: br-lan), if any */
  bridge?: string;
  /** eth is a port of that bridge too: the uplink is bridged, not routed (a bridged AP) */
  ethOnBridge?: boolean;
  /** net.bridge.bridge-nf-call-iptables / -ip6tables (undefined: br_netfilter absent) */
  nfCallIptables?: boolean;
  nfCallIp6tables?: boolean;
}

/** What to install: one iptables spec per address family, and the bridge port's mark. */
export interface InterceptionPlan {
  v4?: RuleSpec;
  v6?: RuleSpec;
  bridge?: BridgeMarkSpec;
}

/**
 * Which uplink packets go to NFQUEUE: the treated protocols and ports, from the clients, per
 * family. IPv4 rules for the IPv4 client subnets, IPv6 (ip6tables) rules for the IPv6 ones; with
 * no subnet known, IPv4 from every source of the Wi-Fi side. When the wlan interface is a bridge
 * port, the uplink enters FORWARD as the bridge: the rules match the bridge plus the mark the
 * bridge's own filter sets on frames from the Wi-Fi port (bridge-mark.ts).
 */
export function interceptionPlanFrom(cfg: Config, subnets: readonly string[], at: WifiAttachment = {}): InterceptionPlan {
  const protos: Array<'tcp' | 'udp'> = [];
  if (cfg.flows.tcp.enabled) protos.push('tcp');
  if (cfg.flows.quic.enabled || cfg.flows.rtp.enabled) protos.push('udp');
  // per protocol; an empty list (or more than multiport's 15) means every port: no port match.
  // RTP has no port of its own (ICE picks them): with RTP on, every UDP port goes to the queue,
  // while TCP stays on its treated ports
  const tcpPorts = cfg.flows.tcp.ports.length <= 15 ? [...cfg.flows.tcp.ports] : [];
  const udpPorts = cfg.flows.rtp.enabled || cfg.flows.quic.ports.length > 15 ? [] : [...cfg.flows.quic.ports];
  const v4 = subnets.filter((s) => !s.includes(':'));
  const v6 = subnets.filter((s) => s.includes(':'));
  const bridge = at.bridge;
  if (bridge !== undefined && at.ethOnBridge === true) {
    // wlan and eth bridged together: the uplink is forwarded by the bridge, and iptables sees it
    // only through br_netfilter
    if (v4.length > 0 || subnets.length === 0) requireNfCall(at.nfCallIptables, 'iptables', cfg, bridge);
    if (v6.length > 0) requireNfCall(at.nfCallIp6tables, 'ip6tables', cfg, bridge);
  }
  const mark = bridge !== undefined ? cfg.nfqueue.bridgeMark : undefined;
  const spec = (clientSubnets: string[]): RuleSpec => ({
    queueNum: cfg.nfqueue.queueNum,
    wlanIf: bridge ?? cfg.interfaces.wlan,
    ...(mark !== undefined ? { mark } : {}),
    protocols: protos,
    protocolPorts: { tcp: tcpPorts, udp: udpPorts },
    clientSubnets,
    dscp: cfg.flows.dscp,
    bypass: true,
  });
  const plan: InterceptionPlan = {};
  if (v4.length > 0 || subnets.length === 0) plan.v4 = spec(v4);
  if (v6.length > 0) plan.v6 = spec(v6);
  if (bridge !== undefined && mark !== undefined) {
    plan.bridge = { port: cfg.interfaces.wlan, mark, hooks: at.ethOnBridge === true ? ['INPUT', 'FORWARD'] : ['INPUT'] };
  }
  return plan;
}

function requireNfCall(on: boolean | undefined, table: string, cfg: Config, bridge: string): void {
  if (on === true) return;
  throw new Error(
    `${cfg.interfaces.wlan} and ${cfg.interfaces.eth} are ports of the same bridge ${bridge} (a bridged AP): the uplink reaches ${table} only ` +
      `through bridge netfilter, which is ${on === false ? 'off' : 'not loaded'}: modprobe br_netfilter; ` +
      `sysctl -w net.bridge.bridge-nf-call-${table}=1 (or route the Wi-Fi: eth outside the bridge)`,
  );
}
