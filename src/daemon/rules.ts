/**
 * iptables rules that steer what zhuge must touch (uplink TCP/UDP from wlan) into its NFQUEUE.
 *
 * Layout (filter table):
 *
 *   FORWARD:  -I FORWARD 1 -j <CHAIN>                          (one jump, inserted at the start)
 *   <CHAIN>:  -A <CHAIN> -i <wlan> -p udp [-m mark --mark m/m] [-s net] [-m multiport --ports p,q] [-m dscp --dscp d]
 *                 -j NFQUEUE --queue-num N --queue-bypass          (one rule per proto×subnet×dscp)
 *
 * The chain name carries a prefix and an optional instance id (`ZHUGE`, `ZHUGE_<id>`) so tests,
 * the demo and the daemon never touch each other's rules; remove() deletes only that chain and
 * the jumps to it, tolerates a partly installed state and is idempotent. `--queue-bypass` makes
 * the rules fail open when no process is bound to the queue (the daemon died); a stalled daemon
 * is the watchdog's business (it runs removeCommand()).
 *
 * iptables is spawned at install/remove only (never per packet), with `-w` (xtables lock wait),
 * inside `ip netns exec <ns>` when a namespace is given. iptables-nft works through xt compat.
 */
import { execFile, execFileSync } from 'node:child_process';

export type RuleProto = 'tcp' | 'udp';

export interface RuleSpec {
  queueNum: number;
  /** input interface of the uplink (the Wi-Fi side: the wlan, or the bridge it is a port of) */
  wlanIf: string;
  /** only packets carrying these mark bits (set by BridgeMark on frames from the Wi-Fi bridge port) */
  mark?: number;
  /** default ['tcp', 'udp'] */
  protocols?: readonly RuleProto[];
  /** match packets whose source OR destination port is one of these (multiport, ≤ 15) */
  ports?: readonly number[];
  /**
   * Per protocol, instead of `ports`: the ports of that protocol's rule ([] = every port). E.g.
   * TCP on the treated ports only while every UDP port goes to the queue for RTP.
   */
  protocolPorts?: Partial<Record<RuleProto, readonly number[]>>;
  /** client subnets (source addresses), e.g. '192.168.1.0/24' */
  clientSubnets?: readonly string[];
  /** DSCP values (0..63) */
  dscp?: readonly number[];
  /** --queue-bypass (fail open when nobody is bound), default true */
  bypass?: boolean;
}

export interface RulesOptions {
  /** default 'ZHUGE' */
  chainPrefix?: string;
  /** appended as `<prefix>_<id>` */
  instanceId?: string;
  /** run iptables inside this network namespace (`ip netns exec`) */
  netns?: string;
  /** IPv6: use ip6tables / ip6tables-restore / ip6tables-save (run one instance per family) */
  ipv6?: boolean;
  /** iptables binaries, default 'iptables' / 'iptables-restore' / 'iptables-save' (ip6tables… with ipv6) */
  iptables?: string;
  iptablesRestore?: string;
  iptablesSave?: string;
  /** xtables lock wait, seconds (default 5) */
  lockWaitS?: number;
}

const NAME_RE = /^[A-Za-z0-9_-]+$/;
const IFNAME_RE = /^[A-Za-z0-9_.@:+-]{1,15}$/;
const SUBNET_RE = /^[0-9A-Fa-f.:]+(\/\d{1,3})?$/;

export class RulesError extends Error {
  override readonly name = 'RulesError';
}

function run(argv: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = execFile(cmd, args, { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err?.message ?? '') });
    });
    // a command that exits without reading its input (an iptables-restore failing at once) makes
    // the write fail with EPIPE on the stdin stream: without a handler that error is uncaught and
    // stops the daemon (found by daemon-health-live); the exit code already says it failed
    child.stdin?.on('error', () => undefined);
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Quotes one word for /bin/sh. */
function shq(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export class IptablesRules {
  readonly chain: string;
  private readonly ipt: string;
  private readonly iptRestore: string;
  private readonly iptSave: string;
  private readonly wait: string;

  constructor(private readonly opts: RulesOptions = {}) {
    const prefix = opts.chainPrefix ?? 'ZHUGE';
    const chain = opts.instanceId !== undefined ? `${prefix}_${opts.instanceId}` : prefix;
    if (!NAME_RE.test(chain) || chain.length > 28) throw new RulesError(`invalid chain name '${chain}' (A-Za-z0-9_-, ≤ 28 chars)`);
    if (opts.netns !== undefined && !NAME_RE.test(opts.netns)) throw new RulesError(`invalid netns name '${opts.netns}'`);
    this.chain = chain;
    const base = opts.ipv6 === true ? 'ip6tables' : 'iptables';
    this.ipt = opts.iptables ?? base;
    this.iptRestore = opts.iptablesRestore ?? `${base}-restore`;
    this.iptSave = opts.iptablesSave ?? `${base}-save`;
    this.wait = String(opts.lockWaitS ?? 5);
  }

  private argv(...cmd: string[]): string[] {
    return this.opts.netns !== undefined ? ['ip', 'netns', 'exec', this.opts.netns, ...cmd] : cmd;
  }

  /** The rules of our chain, as iptables-restore lines (no table header). Pure. */
  ruleLines(spec: RuleSpec): string[] {
    validateSpec(spec);
    const protos = spec.protocols ?? ['tcp', 'udp'];
    const subnets: (string | undefined)[] = spec.clientSubnets?.length ? [...spec.clientSubnets] : [undefined];
    const dscps: (number | undefined)[] = spec.dscp?.length ? [...spec.dscp] : [undefined];
    const lines: string[] = [];
    for (const p of protos) {
      for (const s of subnets) {
        for (const d of dscps) {
          const parts = [`-A ${this.chain}`, `-i ${spec.wlanIf}`, `-p ${p}`];
          if (spec.mark !== undefined) parts.push(`-m mark --mark 0x${spec.mark.toString(16)}/0x${spec.mark.toString(16)}`);
          if (s !== undefined) parts.push(`-s ${s}`);
          const ports = spec.protocolPorts?.[p] ?? spec.ports;
          if (ports?.length) parts.push(`-m multiport --ports ${ports.join(',')}`);
          if (d !== undefined) parts.push(`-m dscp --dscp ${d}`);
          parts.push(`-j NFQUEUE --queue-num ${spec.queueNum}`);
          if (spec.bypass ?? true) parts.push('--queue-bypass');
          lines.push(parts.join(' '));
        }
      }
    }
    return lines;
  }

  /** Creates (or replaces the content of) our chain and inserts the FORWARD jump once. */
  async install(spec: RuleSpec): Promise<void> {
    const lines = this.ruleLines(spec);
    const hasJump = (await run(this.argv(this.ipt, '-w', this.wait, '-C', 'FORWARD', '-j', this.chain))).code === 0;
    const input = ['*filter', `:${this.chain} - [0:0]`, `-F ${this.chain}`, ...lines];
    if (!hasJump) input.push(`-I FORWARD 1 -j ${this.chain}`);
    input.push('COMMIT', '');
    const r = await run(this.argv(this.iptRestore, '-w', this.wait, '--noflush'), input.join('\n'));
    if (r.code !== 0) throw new RulesError(`iptables-restore failed (${r.code}): ${r.stderr.trim()}`);
  }

  /** Removes the jumps to our chain and the chain itself. Idempotent; never throws on "not there". */
  async remove(): Promise<void> {
    // flush first: traffic flows again as soon as this one command has run
    await run(this.argv(this.ipt, '-w', this.wait, '-F', this.chain));
    for (let i = 0; i < 64; i++) {
      const r = await run(this.argv(this.ipt, '-w', this.wait, '-D', 'FORWARD', '-j', this.chain));
      if (r.code !== 0) break;
    }
    await run(this.argv(this.ipt, '-w', this.wait, '-X', this.chain));
    if (await this.chainExists()) throw new RulesError(`chain ${this.chain} still present after remove()`);
  }

  /** Synchronous removal for exit paths (process 'exit' handlers). */
  removeSync(): void {
    execFileSync('/bin/sh', ['-c', this.removeCommand().join('\n')], { stdio: 'ignore', timeout: 15_000 });
  }

  /**
   * Packets our NFQUEUE rules matched since they were installed, as of the last isInstalled()
   * (their counters, read with it; an install starts them at 0). -1 before the first check.
   */
  matchedPackets = -1;

  /** true when the FORWARD jump and at least one NFQUEUE rule of our chain are present. */
  async isInstalled(): Promise<boolean> {
    const lines = await this.saveLines();
    const jump = lines.some((l) => l.line === `-A FORWARD -j ${this.chain}`);
    const rules = lines.filter((l) => l.line.startsWith(`-A ${this.chain} `) && l.line.includes('-j NFQUEUE'));
    this.matchedPackets = rules.reduce((a, l) => a + l.packets, 0);
    return jump && rules.length > 0;
  }

  /** Whether our chain exists at all (even partly installed). */
  async chainExists(): Promise<boolean> {
    const lines = await this.saveLines();
    return lines.some(({ line: l }) => l === `:${this.chain}` || l.startsWith(`:${this.chain} `) || l.includes(`-j ${this.chain}`));
  }

  /** iptables-save -c of the filter table: each line without its "[packets:bytes] " prefix, and the packets. */
  private async saveLines(): Promise<Array<{ line: string; packets: number }>> {
    const r = await run(this.argv(this.iptSave, '-c', '-t', 'filter'));
    if (r.code !== 0) throw new RulesError(`iptables-save failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.split('\n').map((raw) => {
      const l = raw.trim();
      const m = /^\[(\d+):\d+\] (.*)$/.exec(l);
      return m?.[1] !== undefined && m[2] !== undefined ? { line: m[2], packets: Number(m[1]) } : { line: l, packets: 0 };
    });
  }

  /**
   * Shell command lines (for /bin/sh -c, run in order) that remove our rules: what the watchdog
   * runs. Flush first (traffic flows after the first command), then every jump, then the chain.
   * Each line tolerates a missing chain. The spec argument is accepted for symmetry with
   * install(); removal depends only on the chain name.
   */
  /** A /bin/sh line that exits 0 once the FORWARD jump to our chain is gone (the watchdog's check). */
  goneCheckCommand(): string {
    const pre = this.opts.netns !== undefined ? `ip netns exec ${shq(this.opts.netns)} ` : '';
    // gone only when iptables says so: 1 (no such rule), 2 (no such chain) or 127 (no such
    // binary: a host without ip6tables has none of those rules); any other failure (4:
    // permission denied, the lock) proves nothing and must not be reported as removed
    return `{ ${pre}${shq(this.ipt)} -w ${this.wait} -C FORWARD -j ${shq(this.chain)} >/dev/null 2>&1; r=$?; [ $r -eq 1 ] || [ $r -eq 2 ] || [ $r -eq 127 ]; }`;
  }

  removeCommand(_spec?: RuleSpec): string[] {
    const pre = this.opts.netns !== undefined ? `ip netns exec ${shq(this.opts.netns)} ` : '';
    const ipt = `${pre}${shq(this.ipt)} -w ${this.wait}`;
    const c = shq(this.chain);
    return [
      `${ipt} -F ${c} 2>/dev/null || true`,
      `i=0; while [ $i -lt 64 ] && ${ipt} -D FORWARD -j ${c} 2>/dev/null; do i=$((i+1)); done`,
      `${ipt} -X ${c} 2>/dev/null || true`,
    ];
  }
}

function validateSpec(spec: RuleSpec): void {
  if (!Number.isInteger(spec.queueNum) || spec.queueNum < 0 || spec.queueNum > 65535) {
    throw new RulesError(`queueNum ${spec.queueNum} not in 0..65535`);
  }
  if (!IFNAME_RE.test(spec.wlanIf)) throw new RulesError(`invalid interface name '${spec.wlanIf}'`);
  for (const p of spec.protocols ?? []) {
    if (p !== 'tcp' && p !== 'udp') throw new RulesError(`protocol must be tcp or udp, got '${String(p)}'`);
  }
  if (spec.protocols !== undefined && spec.protocols.length === 0) throw new RulesError('protocols is empty');
  for (const list of [spec.ports, spec.protocolPorts?.tcp, spec.protocolPorts?.udp]) {
    if (list === undefined) continue;
    if (list.length > 15) throw new RulesError('at most 15 ports (multiport)');
    for (const port of list) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RulesError(`invalid port ${port}`);
    }
  }
  for (const s of spec.clientSubnets ?? []) {
    if (!SUBNET_RE.test(s)) throw new RulesError(`invalid subnet '${s}'`);
  }
  if (spec.mark !== undefined && (!Number.isInteger(spec.mark) || spec.mark <= 0 || spec.mark > 0xffffffff)) {
    throw new RulesError(`invalid mark ${spec.mark}`);
  }
  for (const d of spec.dscp ?? []) {
    if (!Number.isInteger(d) || d < 0 || d > 63) throw new RulesError(`invalid DSCP ${d}`);
  }
}
