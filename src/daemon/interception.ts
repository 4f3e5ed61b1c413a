/**
 * Everything that steers uplink packets into zhuge's NFQUEUE, as one unit: the IPv4 (iptables)
 * and IPv6 (ip6tables) chains, and, when the Wi-Fi interface is a bridge port, the ebtables mark
 * on its frames (bridge-mark.ts). The plan (what to match) comes from rule-spec.ts.
 *
 * Both families' chains have the same name (ZHUGE or ZHUGE_<id>); the watchdog's removal and its
 * check cover both whatever the plan, so a reload that adds or drops a family never leaves the
 * watchdog blind to a chain. The ebtables mark is left to install/remove: alone it diverts nothing.
 */
import { BridgeMark } from './bridge-mark.js';
import type { InterceptionPlan } from './rule-spec.js';
import { IptablesRules, type RulesOptions } from './rules.js';

export class Interception {
  readonly chain: string;
  private readonly v4: IptablesRules;
  private readonly v6: IptablesRules;
  private readonly bridge: BridgeMark;
  private installed: InterceptionPlan = {};

  constructor(opts: Omit<RulesOptions, 'ipv6'> = {}) {
    this.v4 = new IptablesRules(opts);
    this.v6 = new IptablesRules({ ...opts, ipv6: true });
    this.chain = this.v4.chain;
    this.bridge = new BridgeMark(this.chain, opts.netns !== undefined ? { netns: opts.netns } : {});
  }

  /**
   * Installs `plan`; what the plan no longer has (a family, the mark) is removed. The mark goes in
   * first: a rule matching it before it is set would let the first packets pass untreated.
   */
  async install(plan: InterceptionPlan): Promise<void> {
    if (plan.bridge !== undefined) await this.bridge.install(plan.bridge);
    if (plan.v4 !== undefined) await this.v4.install(plan.v4);
    else if (this.installed.v4 !== undefined) await this.v4.remove();
    if (plan.v6 !== undefined) await this.v6.install(plan.v6);
    else if (this.installed.v6 !== undefined) await this.v6.remove();
    if (plan.bridge === undefined && this.installed.bridge !== undefined) await this.bridge.remove();
    this.installed = plan;
  }

  /** Removes every family's chain and the mark (the jumps first: traffic flows untreated at once). */
  async remove(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of [() => this.v4.remove(), () => this.removeV6(), () => this.removeMark()]) {
      await step().catch((e: unknown) => errors.push(e));
    }
    this.installed = {};
    if (errors.length > 0) throw errors[0];
  }

  /** Packets the installed families' NFQUEUE rules matched, as of the last isInstalled() (-1: none read yet). */
  matchedPackets(): number {
    const p = this.installed;
    const v4 = p.v4 === undefined ? 0 : this.v4.matchedPackets;
    const v6 = p.v6 === undefined ? 0 : this.v6.matchedPackets;
    return v4 < 0 || v6 < 0 ? -1 : v4 + v6;
  }

  /** true when every family of the installed plan has its jump and rules. */
  async isInstalled(): Promise<boolean> {
    const p = this.installed;
    if (p.v4 === undefined && p.v6 === undefined) return false;
    // both families read every time (no short cut when IPv4's are gone): each read also refreshes
    // that family's rule counters, and matchedPackets() must not add a stale IPv6 figure
    const v4 = p.v4 === undefined || (await this.v4.isInstalled());
    const v6 = p.v6 === undefined || (await this.v6.isInstalled());
    return v4 && v6;
  }

  /** The watchdog's removal: both families (each line tolerates a missing chain or binary). */
  removeCommand(): string[] {
    return [...this.v4.removeCommand(), ...this.v6.removeCommand()];
  }

  /** Exits 0 once neither family jumps to our chain (a host without ip6tables counts as gone). */
  goneCheckCommand(): string {
    return `${this.v4.goneCheckCommand()} && ${this.v6.goneCheckCommand()}`;
  }

  private async removeV6(): Promise<void> {
    // a host without IPv6 netfilter has nothing to remove: only a chain we made is our business
    if (this.installed.v6 === undefined && !(await this.v6.chainExists().catch(() => false))) return;
    await this.v6.remove();
  }

  private async removeMark(): Promise<void> {
    if (this.installed.bridge === undefined) return;
    await this.bridge.remove();
  }
}
