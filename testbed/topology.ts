/**
 * The netns testbed (docs/design-notes.md §3):
 *
 *     srv ──────── wan ──────── ap ──────── cli
 *   <p>srv ── <p>wsrv   <p>wap ── <p>eth  <p>wlan ── <p>cli
 *   10.N.1.1   10.N.1.2 10.N.2.1  10.N.2.2 10.N.3.1  10.N.3.2
 *
 * Namespaces are `<p>-srv`, `<p>-wan`, `<p>-ap`, `<p>-cli`; every interface name starts with the
 * prefix `<p>` (at most 11 characters so `<p>wlan` fits IFNAMSIZ). The lab uses 10.N.0.0/16, N
 * (1..254) chosen from the prefix and moved to a free value when another live testbed holds it;
 * these addresses exist only inside our namespaces. srv and cli route only 10.N.0.0/16 (no
 * default route leaves the lab); wan and ap forward (ip_forward=1).
 *
 * Bottleneck: on ap's `<p>wlan` egress, htb root 1: (default class 1:1) → class 1:1 → bfifo 10:.
 * The reverse direction (ap's `<p>eth` egress) keeps the veth default (noqueue): unshaped.
 * Offloads (tso, gso, gro, tx checksum) are off on every veth so the AP sees real packets.
 *
 * Setup spawns `ip`/`tc`/`ethtool`/`sysctl` once; runtime rate changes go over rtnetlink
 * (src/daemon/rtnetlink.ts) from a process inside the ap namespace (testbed/player.ts).
 */
import { execFile, spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export type Role = 'srv' | 'wan' | 'ap' | 'cli';
export const ROLES: readonly Role[] = ['srv', 'wan', 'ap', 'cli'];

export interface TestbedOptions {
  /** name prefix, /^[a-z][a-z0-9]{0,10}$/; default `zg` + 4 random base-36 characters */
  prefix?: string;
  /** bottleneck rate at start, bit/s (default 30 Mbit/s) */
  rateBps?: number;
  /** bfifo limit in bytes; or */
  bufferBytes?: number;
  /** bfifo limit as this many ms at the initial rate (default 100 ms) */
  bufferMs?: number;
  /** TCP congestion control in srv and cli (default bbr) */
  congestionControl?: string;
  /** second octet of 10.N.0.0/16 (1..254); default derived from the prefix */
  subnetOctet?: number;
  /**
   * The AP as OpenWrt builds it: the Wi-Fi interface a port of a bridge (`<p>br`, OpenWrt's
   * br-lan) that carries the LAN address, routed (and NATed, if asked) to the WAN. The bottleneck
   * stays on the Wi-Fi port's egress, where the AP's Wi-Fi queue is.
   */
  bridgedAp?: boolean;
  /** dual stack: IPv6 (fd00:N::/32, one /64 per link, as 10.N.L.0/24) beside IPv4 */
  ipv6?: boolean;
}

export interface TestbedDescription {
  prefix: string;
  subnet: string;
  /** the lab's IPv6 prefix on a dual-stack testbed (fd00:N::/32) */
  subnet6?: string;
  /** IPv6 addresses of the same interfaces, on a dual-stack testbed */
  addrs6?: TestbedDescription['addrs'];
  /** the bridge the AP's Wi-Fi interface is a port of (bridgedAp), which holds apWlan's addresses */
  bridge?: string;
  ns: Record<Role, string>;
  ifaces: { srv: string; wanSrv: string; wanAp: string; apEth: string; apWlan: string; cli: string };
  addrs: { srv: string; wanSrv: string; wanAp: string; apEth: string; apWlan: string; cli: string };
  bottleneck: {
    ns: string;
    dev: string;
    qdisc: string;
    classid: string;
    leaf: string;
    initialRateBps: number;
    bufferBytes: number;
  };
  congestionControl: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly stderr: string,
    readonly code: number | string | undefined,
  ) {
    super(`${cmd} ${args.join(' ')} failed (${String(code)}): ${stderr.trim()}`);
  }
}

function errField(e: unknown, k: string): unknown {
  return typeof e === 'object' && e !== null && k in e ? (e as Record<string, unknown>)[k] : undefined;
}

/** Runs a command (no shell); rejects with CommandError carrying stderr. */
export async function run(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<ExecResult> {
  try {
    const r = await execFileP(cmd, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (e) {
    const stderr = errField(e, 'stderr');
    const code = errField(e, 'code');
    throw new CommandError(
      cmd,
      args,
      typeof stderr === 'string' && stderr !== '' ? stderr : String(e),
      typeof code === 'number' || typeof code === 'string' ? code : undefined,
    );
  }
}

export function validatePrefix(prefix: string): void {
  if (!/^[a-z][a-z0-9]{0,10}$/.test(prefix)) {
    throw new RangeError(`testbed prefix '${prefix}' must match /^[a-z][a-z0-9]{0,10}$/ (interface names ≤ 15 chars)`);
  }
}

export function namesFor(prefix: string): Pick<TestbedDescription, 'ns' | 'ifaces'> {
  validatePrefix(prefix);
  return {
    ns: { srv: `${prefix}-srv`, wan: `${prefix}-wan`, ap: `${prefix}-ap`, cli: `${prefix}-cli` },
    ifaces: {
      srv: `${prefix}srv`,
      wanSrv: `${prefix}wsrv`,
      wanAp: `${prefix}wap`,
      apEth: `${prefix}eth`,
      apWlan: `${prefix}wlan`,
      cli: `${prefix}cli`,
    },
  };
}

export function addrsFor(octet: number): TestbedDescription['addrs'] {
  const b = `10.${octet}`;
  return {
    srv: `${b}.1.1`,
    wanSrv: `${b}.1.2`,
    wanAp: `${b}.2.1`,
    apEth: `${b}.2.2`,
    apWlan: `${b}.3.1`,
    cli: `${b}.3.2`,
  };
}

/** The IPv6 addresses of a dual-stack testbed: fd00:N:L::H for 10.N.L.H. */
export function addrs6For(octet: number): TestbedDescription['addrs'] {
  const v4 = addrsFor(octet);
  const out = {} as TestbedDescription['addrs'];
  for (const [k, a] of Object.entries(v4) as Array<[keyof TestbedDescription['addrs'], string]>) {
    const [, , l, h] = a.split('.');
    out[k] = `fd00:${octet}:${l}::${h}`;
  }
  return out;
}

/** FNV-1a of the prefix → 1..254 */
export function octetForPrefix(prefix: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < prefix.length; i++) {
    h ^= prefix.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % 254) + 1;
}

/** bfifo limit for `ms` of data at `rateBps` (at least two full-size frames). */
export function bufferBytesFor(rateBps: number, ms: number): number {
  return Math.max(3028, Math.round(((rateBps / 8) * ms) / 1000));
}

export function randomPrefix(): string {
  const n = randomBytes(4).readUInt32LE(0);
  return `zg${n.toString(36).padStart(4, '0').slice(-4)}`;
}

function nsExecArgs(ns: string, cmd: string, args: readonly string[]): string[] {
  return ['netns', 'exec', ns, cmd, ...args];
}

export class Testbed {
  constructor(readonly d: TestbedDescription) {}

  get prefix(): string {
    return this.d.prefix;
  }
  get ns(): Record<Role, string> {
    return this.d.ns;
  }
  get ifaces(): TestbedDescription['ifaces'] {
    return this.d.ifaces;
  }
  get addrs(): TestbedDescription['addrs'] {
    return this.d.addrs;
  }

  /** Runs a one-off command inside a namespace of this testbed. */
  exec(role: Role, cmd: string, args: readonly string[], timeoutMs?: number): Promise<ExecResult> {
    return run('ip', nsExecArgs(this.d.ns[role], cmd, args), timeoutMs);
  }

  /** Starts a long-running process inside a namespace of this testbed (caller kills it). */
  spawn(role: Role, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return spawnChild('ip', nsExecArgs(this.d.ns[role], cmd, args), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  }

  /** Sets net.ipv4.tcp_congestion_control in one namespace (srv or cli usually). */
  async setCongestionControl(role: Role, cc: string): Promise<void> {
    await this.exec(role, 'sysctl', ['-qw', `net.ipv4.tcp_congestion_control=${cc}`]);
  }

  /**
   * Turns the AP's bottleneck into per-flow fair queues, as an AP with fq_codel, cake or
   * mac80211's per-station TXQs serves its flows (this kernel has no fq_codel/sfq/drr, docs/design-notes.md §3):
   * under the same class 1:1 (its rate is what setRate changes), one htb class per group of
   * sender ports, each with its own bfifo of `bufferBytes`, one for ICMP (the ping probe), plus a
   * default class for everything else (unlisted flows). Every class has a negligible guaranteed rate and may borrow up to
   * the link, so the link is shared round robin with a quantum of one MTU among the classes that
   * have data: a backlogged flow gets its max-min fair share, whatever the others push.
   * Classification is by the downlink's source port (u32), i.e. per flow for the known senders.
   */
  async perFlowQueues(groups: ReadonlyArray<readonly number[]>, bufferBytes: number): Promise<void> {
    const b = this.d.bottleneck;
    const tc = (...a: string[]): Promise<ExecResult> => run('tc', ['-n', b.ns, ...a]);
    const rate = `${Math.round(b.initialRateBps)}bit`;
    const leaf = async (classid: string): Promise<void> => {
      await tc('class', 'add', 'dev', b.dev, 'parent', b.classid, 'classid', classid, 'htb', 'rate', '8kbit', 'ceil', rate, 'quantum', '1514');
      await tc('qdisc', 'add', 'dev', b.dev, 'parent', classid, 'bfifo', 'limit', String(bufferBytes));
    };
    await tc('qdisc', 'del', 'dev', b.dev, 'root');
    await tc('qdisc', 'add', 'dev', b.dev, 'root', 'handle', b.qdisc, 'htb', 'default', 'ff');
    await tc('class', 'add', 'dev', b.dev, 'parent', b.qdisc, 'classid', b.classid, 'htb', 'rate', rate, 'ceil', rate, 'quantum', '60000');
    await leaf('1:ff');
    // ICMP (the ping probe) is a flow of its own too, as in a fair queue
    await leaf('1:fe');
    await tc('filter', 'add', 'dev', b.dev, 'parent', b.qdisc, 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '1', '0xff', 'flowid', '1:fe');
    for (const [i, ports] of groups.entries()) {
      const classid = `1:${(0x10 + i).toString(16)}`;
      await leaf(classid);
      for (const port of ports) {
        await tc('filter', 'add', 'dev', b.dev, 'parent', b.qdisc, 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'sport', String(port), '0xffff', 'flowid', classid);
      }
    }
  }

  /**
   * The same testbed addressed over IPv6 (a dual-stack testbed): every helper that reads
   * `tb.addrs` (iperf3, ping, ss, the RTT tap) then runs over IPv6.
   */
  ipv6View(): Testbed {
    if (this.d.addrs6 === undefined) throw new Error(`testbed ${this.d.prefix} has no IPv6 (up({ ipv6: true }))`);
    return new Testbed({ ...this.d, addrs: this.d.addrs6 });
  }

  down(): Promise<void> {
    return down(this.d.prefix);
  }

  toJSON(): TestbedDescription {
    return this.d;
  }
}

async function listNetns(): Promise<string[]> {
  const r = await run('ip', ['-j', 'netns', 'list']);
  const txt = r.stdout.trim();
  if (txt === '') return [];
  const parsed: unknown = JSON.parse(txt);
  if (!Array.isArray(parsed)) return [];
  const out: string[] = [];
  for (const e of parsed) {
    const name = errField(e, 'name');
    if (typeof name === 'string') out.push(name);
  }
  return out;
}

export interface LiveTestbed {
  prefix: string;
  namespaces: string[];
  complete: boolean;
  subnet: string | undefined;
}

const NS_RE = /^([a-z][a-z0-9]{0,10})-(srv|wan|ap|cli)$/;

/** Lists testbeds that have at least one namespace alive (`<prefix>-{srv,wan,ap,cli}`). */
export async function status(): Promise<LiveTestbed[]> {
  const byPrefix = new Map<string, string[]>();
  for (const ns of await listNetns()) {
    const m = NS_RE.exec(ns);
    if (m === null || m[1] === undefined) continue;
    const arr = byPrefix.get(m[1]) ?? [];
    arr.push(ns);
    byPrefix.set(m[1], arr);
  }
  const out: LiveTestbed[] = [];
  for (const [prefix, namespaces] of byPrefix) {
    let subnet: string | undefined;
    if (namespaces.includes(`${prefix}-srv`)) {
      try {
        const r = await run('ip', ['-n', `${prefix}-srv`, '-4', '-o', 'addr', 'show', 'dev', `${prefix}srv`]);
        const m = /inet (10\.(\d+))\.\d+\.\d+\//.exec(r.stdout);
        if (m !== null) subnet = `${m[1]}.0.0/16`;
      } catch {
        // half-built testbed: no address
      }
    }
    out.push({ prefix, namespaces: namespaces.sort(), complete: namespaces.length === 4, subnet });
  }
  return out.sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/**
 * Removes the testbed `prefix`: kills what still runs in its namespaces, deletes the namespaces
 * (which deletes their veths and iptables rules) and any stray `<prefix>…` veth left in the root
 * namespace by a crash. Idempotent. Touches nothing without the exact prefix.
 */
export async function down(prefix: string): Promise<void> {
  validatePrefix(prefix);
  const mine = (await listNetns()).filter((ns) => {
    const m = NS_RE.exec(ns);
    return m !== null && m[1] === prefix;
  });
  for (const ns of mine) {
    try {
      const r = await run('ip', ['netns', 'pids', ns]);
      for (const p of r.stdout.split(/\s+/)) {
        const pid = Number(p);
        if (Number.isInteger(pid) && pid > 1) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    } catch {
      // namespace vanished meanwhile
    }
  }
  for (const ns of mine) {
    try {
      await run('ip', ['netns', 'del', ns]);
    } catch (e) {
      if (!(e instanceof CommandError) || !/No such file|not found|Invalid/.test(e.stderr)) throw e;
    }
  }
  // stray root-namespace veths of this prefix (a crash between `link add` and the move)
  const names = Object.values(namesFor(prefix).ifaces);
  const links = await run('ip', ['-o', 'link', 'show']);
  for (const line of links.stdout.split('\n')) {
    const m = /^\d+: ([^:@\s]+)/.exec(line);
    if (m?.[1] !== undefined && names.includes(m[1])) {
      await run('ip', ['link', 'del', m[1]]).catch(() => undefined);
    }
  }
}

async function pickOctet(prefix: string, wanted: number | undefined): Promise<number> {
  const used = new Set<number>();
  for (const t of await status()) {
    if (t.prefix === prefix || t.subnet === undefined) continue;
    const m = /^10\.(\d+)\./.exec(t.subnet);
    if (m?.[1] !== undefined) used.add(Number(m[1]));
  }
  if (wanted !== undefined) {
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > 254) throw new RangeError('subnetOctet must be 1..254');
    if (used.has(wanted)) throw new Error(`10.${wanted}.0.0/16 is used by another live testbed`);
    return wanted;
  }
  let o = octetForPrefix(prefix);
  for (let i = 0; i < 254 && used.has(o); i++) o = (o % 254) + 1;
  if (used.has(o)) throw new Error('no free 10.N.0.0/16 for a testbed');
  return o;
}

/** Builds a testbed. On failure everything already created is torn down before rethrowing. */
export async function up(opts: TestbedOptions = {}): Promise<Testbed> {
  const prefix = opts.prefix ?? randomPrefix();
  const { ns, ifaces } = namesFor(prefix);
  const existing = (await status()).find((t) => t.prefix === prefix);
  if (existing !== undefined) throw new Error(`testbed '${prefix}' already exists (run down first)`);
  const octet = await pickOctet(prefix, opts.subnetOctet);
  const addrs = addrsFor(octet);
  const subnet = `10.${octet}.0.0/16`;
  const rateBps = opts.rateBps ?? 30_000_000;
  if (!(rateBps >= 8000)) throw new RangeError('rateBps must be ≥ 8000');
  const bufferBytes = opts.bufferBytes ?? bufferBytesFor(rateBps, opts.bufferMs ?? 100);
  const cc = opts.congestionControl ?? 'bbr';
  const d: TestbedDescription = {
    prefix,
    subnet,
    ns,
    ifaces,
    addrs,
    bottleneck: {
      ns: ns.ap,
      dev: ifaces.apWlan,
      qdisc: '1:',
      classid: '1:1',
      leaf: '10:',
      initialRateBps: rateBps,
      bufferBytes,
    },
    congestionControl: cc,
  };
  const addrs6 = opts.ipv6 === true ? addrs6For(octet) : undefined;
  if (addrs6 !== undefined) {
    d.subnet6 = `fd00:${octet}::/32`;
    d.addrs6 = addrs6;
  }
  if (opts.bridgedAp === true) d.bridge = `${prefix}br`;
  const ip = (...a: string[]): Promise<ExecResult> => run('ip', a);
  const inNs = (role: Role, cmd: string, ...a: string[]): Promise<ExecResult> => run('ip', nsExecArgs(ns[role], cmd, a));
  try {
    for (const r of ROLES) {
      await ip('netns', 'add', ns[r]);
      await ip('-n', ns[r], 'link', 'set', 'lo', 'up');
    }
    const pairs: Array<[Role, string, Role, string]> = [
      ['srv', ifaces.srv, 'wan', ifaces.wanSrv],
      ['wan', ifaces.wanAp, 'ap', ifaces.apEth],
      ['ap', ifaces.apWlan, 'cli', ifaces.cli],
    ];
    for (const [ra, a, rb, b] of pairs) {
      await ip('link', 'add', a, 'netns', ns[ra], 'type', 'veth', 'peer', 'name', b, 'netns', ns[rb]);
    }
    const addrPlan: Array<[Role, string, string]> = [
      ['srv', ifaces.srv, addrs.srv],
      ['wan', ifaces.wanSrv, addrs.wanSrv],
      ['wan', ifaces.wanAp, addrs.wanAp],
      ['ap', ifaces.apEth, addrs.apEth],
      ['ap', ifaces.apWlan, addrs.apWlan],
      ['cli', ifaces.cli, addrs.cli],
    ];
    if (d.bridge !== undefined) {
      // the bridge takes the Wi-Fi side's addresses; the Wi-Fi interface becomes its port
      await ip('-n', ns.ap, 'link', 'add', d.bridge, 'type', 'bridge');
      await ip('-n', ns.ap, 'link', 'set', ifaces.apWlan, 'master', d.bridge);
      await inNs('ap', 'ethtool', '-K', d.bridge, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off');
      await ip('-n', ns.ap, 'link', 'set', d.bridge, 'up');
    }
    for (const [r, dev, a] of addrPlan) {
      const on = r === 'ap' && dev === ifaces.apWlan && d.bridge !== undefined ? d.bridge : dev;
      await ip('-n', ns[r], 'addr', 'add', `${a}/24`, 'dev', on);
      const key = (Object.keys(addrs) as Array<keyof typeof addrs>).find((k) => addrs[k] === a);
      if (addrs6 !== undefined && key !== undefined) await ip('-n', ns[r], 'addr', 'add', `${addrs6[key]}/64`, 'dev', on, 'nodad');
      await inNs(r, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off');
      await ip('-n', ns[r], 'link', 'set', dev, 'up');
    }
    await ip('-n', ns.srv, 'route', 'add', subnet, 'via', addrs.wanSrv);
    await ip('-n', ns.cli, 'route', 'add', subnet, 'via', addrs.apWlan);
    await ip('-n', ns.wan, 'route', 'add', `10.${octet}.3.0/24`, 'via', addrs.apEth);
    await ip('-n', ns.ap, 'route', 'add', `10.${octet}.1.0/24`, 'via', addrs.wanAp);
    for (const r of ['wan', 'ap'] as const) await inNs(r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    if (addrs6 !== undefined && d.subnet6 !== undefined) {
      await ip('-n', ns.srv, '-6', 'route', 'add', d.subnet6, 'via', addrs6.wanSrv);
      await ip('-n', ns.cli, '-6', 'route', 'add', d.subnet6, 'via', addrs6.apWlan);
      await ip('-n', ns.wan, '-6', 'route', 'add', `fd00:${octet}:3::/64`, 'via', addrs6.apEth);
      await ip('-n', ns.ap, '-6', 'route', 'add', `fd00:${octet}:1::/64`, 'via', addrs6.wanAp);
      for (const r of ['wan', 'ap'] as const) await inNs(r, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    }
    for (const r of ['srv', 'cli'] as const) {
      try {
        await inNs(r, 'sysctl', '-qw', `net.ipv4.tcp_congestion_control=${cc}`);
      } catch (e) {
        // a non-initial netns may only default to algorithms in the host's
        // net.ipv4.tcp_allowed_congestion_control; a socket of a root process (iperf3 -C) may use any
        throw new Error(
          `cannot make '${cc}' the default congestion control in ${ns[r]}: it must be listed in the host's ` +
            `net.ipv4.tcp_allowed_congestion_control (or choose it per socket, e.g. iperf3 -C ${cc}): ${String(e)}`,
          { cause: e },
        );
      }
    }
    const tc = (...a: string[]): Promise<ExecResult> => run('tc', ['-n', ns.ap, ...a]);
    const rate = `${Math.round(rateBps)}bit`;
    await tc('qdisc', 'add', 'dev', ifaces.apWlan, 'root', 'handle', '1:', 'htb', 'default', '1');
    await tc('class', 'add', 'dev', ifaces.apWlan, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', rate, 'ceil', rate, 'quantum', '60000');
    await tc('qdisc', 'add', 'dev', ifaces.apWlan, 'parent', '1:1', 'handle', '10:', 'bfifo', 'limit', String(bufferBytes));
  } catch (e) {
    await down(prefix).catch(() => undefined);
    throw e;
  }
  return new Testbed(d);
}
