/**
 * ebtables rules that mark frames entering a bridge from the Wi-Fi port, so that iptables can
 * tell the Wi-Fi clients' uplink from the wired LAN's once both arrive as `-i br-lan`.
 *
 * Why a mark and not `-m physdev --physdev-in wlan0`: physdev only knows the bridge port when
 * br_netfilter is loaded and net.bridge.bridge-nf-call-iptables is 1, which OpenWrt does not do by
 * default (it costs an iptables pass for every bridged frame). The bridge's own filter table
 * sees every frame with its port, with or without br_netfilter, and the skb mark it sets is still
 * there when the routed packet reaches iptables' FORWARD (measured: docs/operations.md).
 *
 * Layout (bridge filter table):
 *
 *   INPUT:    -I INPUT 1 -j <CHAIN>            frames for the host: the routed uplink (br-lan → wan)
 *   FORWARD:  -I FORWARD 1 -j <CHAIN>          only when the uplink is bridged too (wlan and eth
 *                                              ports of one bridge; needs br_netfilter)
 *   <CHAIN>:  -A <CHAIN> -i <wlan> -j mark --mark-or <mark> --mark-target CONTINUE   (policy RETURN)
 *
 * The mark is OR-ed in, so other users' bits survive. The chain is named like zhuge's iptables
 * chain (it lives in another table). ebtables is spawned at install/remove only. The watchdog does
 * not remove these rules: a mark alone changes nothing once the iptables jump is gone.
 */
import { execFile } from 'node:child_process';

export type BridgeHook = 'INPUT' | 'FORWARD';

export interface BridgeMarkSpec {
  /** the bridge port whose frames are marked (the Wi-Fi interface) */
  port: string;
  /** the bit(s) OR-ed into the skb mark */
  mark: number;
  hooks: readonly BridgeHook[];
}

export class BridgeMarkError extends Error {
  override readonly name = 'BridgeMarkError';
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(argv: readonly string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err?.message ?? '') });
    });
  });
}

const IFNAME_RE = /^[A-Za-z0-9_.@:+-]{1,15}$/;
const HOOKS: readonly BridgeHook[] = ['INPUT', 'FORWARD'];

export function markHex(mark: number): string {
  return `0x${mark.toString(16)}`;
}

export class BridgeMark {
  constructor(
    readonly chain: string,
    private readonly opts: { netns?: string; ebtables?: string } = {},
  ) {}

  private argv(...a: string[]): string[] {
    const cmd = [this.opts.ebtables ?? 'ebtables', '-t', 'filter', ...a];
    return this.opts.netns !== undefined ? ['ip', 'netns', 'exec', this.opts.netns, ...cmd] : cmd;
  }

  /** The rule of our chain (pure). */
  ruleArgs(spec: BridgeMarkSpec): string[] {
    if (!IFNAME_RE.test(spec.port)) throw new BridgeMarkError(`invalid interface name '${spec.port}'`);
    if (!Number.isInteger(spec.mark) || spec.mark <= 0 || spec.mark > 0xffffffff) throw new BridgeMarkError(`invalid mark ${spec.mark}`);
    return ['-A', this.chain, '-i', spec.port, '-j', 'mark', '--mark-or', markHex(spec.mark), '--mark-target', 'CONTINUE'];
  }

  /** Creates (or refills) our chain and jumps to it from the spec's hooks, and from no other. */
  async install(spec: BridgeMarkSpec): Promise<void> {
    const rule = this.ruleArgs(spec);
    if (!(await this.chainListed())) {
      const r = await run(this.argv('-N', this.chain, '-P', 'RETURN'));
      if (r.code !== 0) {
        const hint = /ENOENT/.test(r.stderr) ? ' (ebtables not found: install it, Debian `ebtables`, OpenWrt `ebtables-nft`)' : '';
        throw new BridgeMarkError(`ebtables -N ${this.chain} failed (${r.code}): ${r.stderr.trim()}${hint}`);
      }
    }
    await this.must(this.argv('-F', this.chain));
    await this.must(this.argv(...rule));
    for (const hook of HOOKS) {
      const has = await this.hasJump(hook);
      if (spec.hooks.includes(hook) && !has) await this.must(this.argv('-I', hook, '1', '-j', this.chain));
      if (!spec.hooks.includes(hook) && has) await this.deleteJumps(hook);
    }
  }

  /** Removes the jumps and the chain. Idempotent. */
  async remove(): Promise<void> {
    await run(this.argv('-F', this.chain));
    for (const hook of HOOKS) await this.deleteJumps(hook);
    await run(this.argv('-X', this.chain));
    if (await this.chainListed()) throw new BridgeMarkError(`ebtables chain ${this.chain} still present after remove()`);
  }

  /** The hooks that jump to our chain now. */
  async jumps(): Promise<BridgeHook[]> {
    const out: BridgeHook[] = [];
    for (const hook of HOOKS) if (await this.hasJump(hook)) out.push(hook);
    return out;
  }

  private async deleteJumps(hook: BridgeHook): Promise<void> {
    for (let i = 0; i < 64; i++) if ((await run(this.argv('-D', hook, '-j', this.chain))).code !== 0) break;
  }

  private async hasJump(hook: BridgeHook): Promise<boolean> {
    const r = await run(this.argv('-L', hook));
    if (r.code !== 0) throw new BridgeMarkError(`ebtables -L ${hook} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.split('\n').some((l) => l.trim() === `-j ${this.chain}`);
  }

  private async chainListed(): Promise<boolean> {
    return (await run(this.argv('-L', this.chain))).code === 0;
  }

  private async must(argv: string[]): Promise<void> {
    const r = await run(argv);
    if (r.code !== 0) throw new BridgeMarkError(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  }
}
