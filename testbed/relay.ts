/**
 * Base-RTT delay relay (no netem on this kernel, docs/design-notes.md §3). Runs INSIDE the wan namespace
 * (`ip netns exec <p>-wan node dist/testbed/relay.js ...`), which forwards: ping reads its kernel
 * receive timestamp before INPUT hooks, so holding on a forwarding hop is what a receiver sees.
 *
 * Per direction one NFQUEUE queue and one constant hold:
 *   iptables -I FORWARD -i <p>wsrv -s <lab> -d <lab> -j NFQUEUE --queue-num Qdown --queue-bypass  (srv → cli)
 *   iptables -I FORWARD -i <p>wap  -s <lab> -d <lab> -j NFQUEUE --queue-num Qup   --queue-bypass  (cli → srv)
 * The hold is constant per direction, so packets leave in arrival order: a FIFO per direction,
 * one timer armed for the head, every due packet released (accept without payload: the kernel
 * re-injects its own copy, so only 64 bytes are copied to us) and the verdicts flushed together.
 * The hold starts at the kernel's queueing timestamp when it has one, else at batch delivery.
 * The rules are removed at exit (SIGTERM/SIGINT); `--queue-bypass` lets traffic pass undelayed
 * if the relay dies, and deleting the namespace removes the rules anyway.
 *
 * CLI: relay.js --down-dev D --up-dev U --subnet 10.N.0.0/16 --down-ms 25 --up-ms 25
 *               [--queue-down 101] [--queue-up 102] [--mode forward|endpoint]
 * `--mode endpoint` runs in the client namespace instead (the Wi-Fi hop's latency, startRelay's
 * `at: 'cli'`): INPUT -i <dev> for the downlink, OUTPUT -o <dev> for the uplink.
 * Prints {"event":"ready"} once the rules are in place, {"event":"stats",...} at exit.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { WallToMono, monoNowUs } from '../src/daemon/clock.js';
import { NfQueue, nfqueueAvailable, type NfqPacket } from '../src/daemon/nfqueue.js';
import { distScript } from './scripts.js';
import type { Testbed } from './topology.js';

/** A constant-delay FIFO: items leave `holdUs` after they arrived, in arrival order. */
export class DelayLine {
  private readonly ids: number[] = [];
  private readonly due: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  released = 0;
  maxDepth = 0;

  constructor(
    readonly holdUs: number,
    private readonly release: (id: number) => void,
    private readonly flush: () => void,
    private readonly now: () => number = monoNowUs,
  ) {}

  get depth(): number {
    return this.ids.length - this.head;
  }

  push(id: number, arrivalUs: number): void {
    // arrival times are clamped non-decreasing so the FIFO stays sorted by due time
    const last = this.due[this.due.length - 1];
    const dueUs = Math.max(arrivalUs + this.holdUs, last ?? -Infinity);
    this.ids.push(id);
    this.due.push(dueUs);
    if (this.depth > this.maxDepth) this.maxDepth = this.depth;
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    const d = this.due[this.head];
    if (d === undefined) return;
    // never early, like netem: a Node timer can fire up to ~1 ms before its delay (libuv's
    // millisecond clock), so it is armed with a ceiling and fire() re-checks against the clock
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil((d - this.now()) / 1000)));
  }

  private fire(): void {
    this.timer = undefined;
    const n = this.now();
    let any = false;
    while (this.head < this.ids.length && (this.due[this.head] as number) <= n) {
      this.release(this.ids[this.head] as number);
      this.head++;
      this.released++;
      any = true;
    }
    if (any) this.flush();
    if (this.head > 4096 && this.head * 2 > this.ids.length) {
      this.ids.splice(0, this.head);
      this.due.splice(0, this.head);
      this.head = 0;
    }
    if (this.head < this.ids.length) this.arm();
  }

  /** Releases everything now (shutdown). */
  drain(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.head < this.ids.length) {
      this.release(this.ids[this.head] as number);
      this.head++;
      this.released++;
    }
    this.flush();
  }
}

export interface RelayArgs {
  /**
   * `forward` (wan: the base RTT, rules in FORWARD by input device) or `endpoint` (cli: the Wi-Fi
   * hop's own latency, rules on the client's interface: INPUT for the downlink after the AP's
   * queue, OUTPUT for the client's uplink packets before they reach the AP). In endpoint mode
   * downDev and upDev are both the client's interface.
   */
  mode: 'forward' | 'endpoint';
  downDev: string;
  upDev: string;
  subnet: string;
  /** the lab's IPv6 prefix (a dual-stack testbed): the same holds for IPv6, through ip6tables */
  subnet6?: string;
  downMs: number;
  upMs: number;
  queueDown: number;
  queueUp: number;
}

export function parseRelayArgs(argv: string[]): RelayArgs {
  const get = (n: string): string | undefined => {
    const i = argv.indexOf(n);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const need = (n: string): string => {
    const v = get(n);
    if (v === undefined) throw new Error(`relay: missing ${n}`);
    return v;
  };
  const mode = get('--mode') ?? 'forward';
  if (mode !== 'forward' && mode !== 'endpoint') throw new Error(`relay: --mode must be forward or endpoint, not ${mode}`);
  const subnet6 = get('--subnet6');
  return {
    mode,
    downDev: need('--down-dev'),
    upDev: need('--up-dev'),
    subnet: need('--subnet'),
    ...(subnet6 !== undefined ? { subnet6 } : {}),
    downMs: Number(get('--down-ms') ?? '25'),
    upMs: Number(get('--up-ms') ?? '25'),
    queueDown: Number(get('--queue-down') ?? '101'),
    queueUp: Number(get('--queue-up') ?? '102'),
  };
}

export function ruleArgs(a: RelayArgs, dir: 'down' | 'up', subnet = a.subnet): string[] {
  const dev = dir === 'down' ? a.downDev : a.upDev;
  const q = dir === 'down' ? a.queueDown : a.queueUp;
  const where = a.mode === 'forward' ? ['FORWARD', '-i', dev] : dir === 'down' ? ['INPUT', '-i', dev] : ['OUTPUT', '-o', dev];
  return [...where, '-s', subnet, '-d', subnet, '-j', 'NFQUEUE', '--queue-num', String(q), '--queue-bypass'];
}

/** [binary, rule] per family: IPv4, and IPv6 on a dual-stack testbed. */
function relayRules(a: RelayArgs): Array<[string, string[]]> {
  const rules: Array<[string, string[]]> = [
    ['iptables', ruleArgs(a, 'down')],
    ['iptables', ruleArgs(a, 'up')],
  ];
  if (a.subnet6 !== undefined) rules.push(['ip6tables', ruleArgs(a, 'down', a.subnet6)], ['ip6tables', ruleArgs(a, 'up', a.subnet6)]);
  return rules;
}

function iptables(bin: string, op: '-I' | '-D', rule: string[]): void {
  execFileSync(bin, ['-w', op, ...rule], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function out(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const avail = nfqueueAvailable();
  if (!avail.ok) {
    process.stderr.write(`relay: NFQUEUE binding unavailable: ${avail.reason}\n`);
    return 4;
  }
  const a = parseRelayArgs(argv);
  const w2m = new WallToMono();
  const queues: NfQueue[] = [];
  const lines: DelayLine[] = [];
  const open = (num: number, holdMs: number): void => {
    const ref: { q?: NfQueue } = {};
    const line = new DelayLine(
      holdMs * 1000,
      (id) => ref.q?.accept(id),
      () => ref.q?.flush(),
    );
    const q = NfQueue.open({ queueNum: num, maxLen: 16384, copyBytes: 64, failOpen: true }, (batch: NfqPacket[]) => {
      const now = monoNowUs();
      for (const p of batch) {
        const arr = p.tsUs !== undefined ? Math.min(now, w2m.toMono(p.tsUs)) : now;
        line.push(p.id, arr);
      }
    });
    ref.q = q;
    queues.push(q);
    lines.push(line);
  };
  open(a.queueDown, a.downMs);
  open(a.queueUp, a.upMs);
  const rules = relayRules(a);
  for (const [bin, r] of rules) iptables(bin, '-I', r);
  out({ event: 'ready', ...a });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  for (const [bin, r] of rules) {
    try {
      iptables(bin, '-D', r);
    } catch {
      // already gone
    }
  }
  for (const l of lines) l.drain();
  out({
    event: 'stats',
    released: lines.map((l) => l.released),
    maxDepth: lines.map((l) => l.maxDepth),
    queues: queues.map((q) => q.stats()),
  });
  for (const q of queues) q.close();
  return 0;
}

// ---- parent side ------------------------------------------------------------------------------

export interface RelayHandle {
  child: ChildProcess;
  /** SIGTERM, waits for the exit; resolves with the relay's final stats line (if any) */
  stop(): Promise<Record<string, unknown> | undefined>;
}

/**
 * Starts the relay; resolves once its rules are installed. By default in the testbed's wan
 * namespace (the base RTT); `at: 'cli'` holds packets on the client's interface instead, the Wi-Fi
 * hop's own latency: downlink packets after they left the AP's queue (INPUT), the client's uplink
 * packets (its ACKs) before they reach the AP (OUTPUT). Both relays can run at once (their queue
 * numbers differ: 101/102 in wan, 103/104 in cli).
 */
export function startRelay(
  tb: Testbed,
  opts: { downMs: number; upMs?: number; queueDown?: number; queueUp?: number; at?: 'wan' | 'cli' },
): Promise<RelayHandle> {
  const atCli = opts.at === 'cli';
  const args = [
    distScript('relay'),
    '--mode',
    atCli ? 'endpoint' : 'forward',
    '--down-dev',
    atCli ? tb.ifaces.cli : tb.ifaces.wanSrv,
    '--up-dev',
    atCli ? tb.ifaces.cli : tb.ifaces.wanAp,
    '--subnet',
    tb.d.subnet,
    ...(tb.d.subnet6 !== undefined ? ['--subnet6', tb.d.subnet6] : []),
    '--down-ms',
    String(opts.downMs),
    '--up-ms',
    String(opts.upMs ?? opts.downMs),
    '--queue-down',
    String(opts.queueDown ?? (atCli ? 103 : 101)),
    '--queue-up',
    String(opts.queueUp ?? (atCli ? 104 : 102)),
  ];
  const child = tb.spawn(atCli ? 'cli' : 'wan', process.execPath, args);
  let stderr = '';
  let stats: Record<string, unknown> | undefined;
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return new Promise((resolve, reject) => {
    let ready = false;
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (l) => {
        const m = JSON.parse(l) as Record<string, unknown>;
        if (m['event'] === 'ready' && !ready) {
          ready = true;
          resolve({
            child,
            stop: async () => {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), 3000);
              await exited;
              clearTimeout(t);
              return stats;
            },
          });
        } else if (m['event'] === 'stats') stats = m;
      });
    }
    void exited.then((code) => {
      if (!ready) reject(new Error(`relay exited ${String(code)}: ${stderr.trim()}`));
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`relay: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
