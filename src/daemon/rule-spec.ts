/** The interception rules' spec from the configuration (pure). */
import type { Config } from '../config/index.js';
import type { RuleSpec } from './rules.js';

/** Which uplink packets go to NFQUEUE: the treated protocols and ports, from the clients. */
export function ruleSpecFrom(cfg: Config, subnets: readonly string[]): RuleSpec {
  const protos: Array<'tcp' | 'udp'> = [];
  if (cfg.flows.tcp.enabled) protos.push('tcp');
  if (cfg.flows.quic.enabled || cfg.flows.rtp.enabled) protos.push('udp');
  // per protocol; an empty list (or more than multiport's 15) means every port: no port match.
  // RTP has no port of its own (ICE picks them): with RTP on, every UDP port goes to the queue,
  // while TCP stays on its treated ports
  const tcpPorts = cfg.flows.tcp.ports.length <= 15 ? [...cfg.flows.tcp.ports] : [];
  const udpPorts = cfg.flows.rtp.enabled || cfg.flows.quic.ports.length > 15 ? [] : [...cfg.flows.quic.ports];
  // the rules are iptables (IPv4) only: an IPv6-only subnet list left nothing to match on and the
  // rules then took every IPv4 source on the Wi-Fi side
  const v4 = subnets.filter((s) => !s.includes(':'));
  if (subnets.length > 0 && v4.length === 0) {
    throw new Error(
      `the client subnets (${subnets.join(', ')}) are all IPv6: uplink interception is IPv4-only (iptables) in this version; add the IPv4 client subnet to flows.clientSubnets`,
    );
  }
  return {
    queueNum: cfg.nfqueue.queueNum,
    wlanIf: cfg.interfaces.wlan,
    protocols: protos,
    protocolPorts: { tcp: tcpPorts, udp: udpPorts },
    clientSubnets: v4,
    dscp: cfg.flows.dscp,
    bypass: true,
  };
}

