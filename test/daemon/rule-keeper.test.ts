/** RuleKeeper against a fake Interception: what the daemon's rule lifecycle does in each situation. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Interception } from '../../src/daemon/interception.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { RULE_CHECK_MS, RuleKeeper, STALL_GRACE_MS, TICK_MS } from '../../src/daemon/rule-keeper.js';
import type { InterceptionPlan } from '../../src/daemon/rule-spec.js';

/** iptables as far as the keeper can tell: what is installed, and scripted failures. */
class FakeRules {
  readonly chain = 'ZHUGE-T';
  present: InterceptionPlan | undefined;
  installs: InterceptionPlan[] = [];
  removes = 0;
  failNextInstall = false;
  /** when set, installs wait for it (iptables-restore slow on a loaded machine) */
  installGate: Promise<void> | undefined;

  async install(plan: InterceptionPlan): Promise<void> {
    if (this.failNextInstall) {
      this.failNextInstall = false;
      throw new Error('iptables-restore: line 3 failed');
    }
    if (this.installGate !== undefined) await this.installGate;
    this.installs.push(plan);
    this.present = plan;
  }

  remove(): Promise<void> {
    this.removes++;
    this.present = undefined;
    return Promise.resolve();
  }

  isInstalled(): Promise<boolean> {
    return Promise.resolve(this.present !== undefined);
  }
}

// the keeper hands plans to Interception and compares them; their content is Interception's business
const PLAN_A = { v4: { wlan: 'wlan0', clientSubnets: ['192.168.1.0/24'], tcpPorts: [], rtp: true } } as unknown as InterceptionPlan;
const PLAN_B = { v4: { wlan: 'wlan0', clientSubnets: ['192.168.1.0/24'], tcpPorts: [5201], rtp: true } } as unknown as InterceptionPlan;

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

function keeper(
  stopping = (): boolean => false,
  confirmDelay = (): Promise<void> => Promise.resolve(),
): { k: RuleKeeper; rules: FakeRules; gauge: () => Promise<number>; restored: () => Promise<number> } {
  const rules = new FakeRules();
  const metrics = createMetrics({ processMetrics: false });
  const k = new RuleKeeper(rules as unknown as Interception, PLAN_A, metrics, pino({ level: 'silent' }), stopping, 200, {}, confirmDelay);
  const value = async (name: string): Promise<number> => (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? Number.NaN;
  return { k, rules, gauge: () => value('zhuge_rules_installed'), restored: () => value('zhuge_rules_restored_total') };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** The daemon's housekeeping: a tick every TICK_MS from `fromMs` (exclusive) to `toMs`, each settled. */
async function ticksTo(k: RuleKeeper, fromMs: number, toMs: number): Promise<void> {
  for (let t = fromMs + TICK_MS; t <= toMs; t += TICK_MS) {
    k.tick(t);
    await settle();
  }
}

describe('RuleKeeper', () => {
  it('start installs the plan and says so; stop removes it and the check no longer puts it back', async () => {
    const { k, rules, gauge } = keeper();
    await k.start();
    expect(rules.present).toEqual(PLAN_A);
    expect(k.installed).toBe(true);
    expect(await gauge()).toBe(1);
    await k.remove();
    expect(rules.removes).toBe(1);
    expect(k.installed).toBe(false);
    expect(await gauge()).toBe(0);
    k.tick(10 * RULE_CHECK_MS);
    await settle();
    expect(rules.present).toBeUndefined();
  });

  it('rules removed from outside are installed again at the next check, counted once', async () => {
    const { k, rules, gauge, restored } = keeper();
    await k.start();
    k.tick(0);
    await settle();
    rules.present = undefined; // a firewall reload
    await ticksTo(k, 0, RULE_CHECK_MS - TICK_MS); // not due yet
    expect(rules.present).toBeUndefined();
    await ticksTo(k, RULE_CHECK_MS - TICK_MS, RULE_CHECK_MS);
    expect(rules.present).toEqual(PLAN_A);
    expect(k.installed).toBe(true);
    expect(await gauge()).toBe(1);
    expect(await restored()).toBe(1);
  });

  it('after a stall (a tick late by more than half stallMs) the rules are not judged until the watchdog could report: no removal taken for a firewall\'s', async () => {
    const { k, rules, restored } = keeper();
    await k.start();
    await ticksTo(k, -TICK_MS, 4 * TICK_MS);
    // the loop stalls 400 ms across the tick due at 5 s: the watchdog removed the rules, its
    // report not read yet when the late tick runs and a check is due
    rules.present = undefined;
    k.tick(5 * TICK_MS + 400);
    await settle();
    expect(rules.present).toBeUndefined();
    expect(await restored()).toBe(0);
    // the report arrives: out until resume; resume puts them back, nothing counted as from outside
    k.removedByWatchdog();
    k.resume();
    await settle();
    expect(rules.present).toEqual(PLAN_A);
    // a firewall removing them later, after the grace, is seen as before
    rules.present = undefined;
    await ticksTo(k, 5 * TICK_MS + 400, 5 * TICK_MS + 400 + STALL_GRACE_MS + RULE_CHECK_MS);
    expect(rules.present).toEqual(PLAN_A);
    expect(await restored()).toBe(1);
  });

  it('without the grace (a tick on time) the same removal is repaired at once', async () => {
    const { k, rules, restored } = keeper();
    await k.start();
    await ticksTo(k, -TICK_MS, 4 * TICK_MS);
    rules.present = undefined;
    k.tick(5 * TICK_MS);
    await settle();
    expect(rules.present).toEqual(PLAN_A);
    expect(await restored()).toBe(1);
  });

  it('the watchdog\'s "removing" read while a listing that found the rules missing is confirmed: the removal is the watchdog\'s, nothing counted or put back', async () => {
    const confirm = gate();
    let confirming = 0;
    const { k, rules, restored } = keeper(undefined, () => {
      confirming++;
      return confirm.wait;
    });
    await k.start();
    await ticksTo(k, -TICK_MS, 4 * TICK_MS);
    // a tick on time (the stall fell between ticks): the watchdog's removal already ran when the
    // listing read the table, its line read only in the same loop turn as the listing's end
    rules.present = undefined;
    k.tick(5 * TICK_MS);
    await settle();
    expect(confirming).toBe(1);
    k.removingByWatchdog();
    confirm.open();
    await settle();
    k.removedByWatchdog();
    expect(rules.present).toBeUndefined();
    expect(await restored()).toBe(0);
    k.resume();
    await settle();
    expect(rules.present).toEqual(PLAN_A);
    expect(await restored()).toBe(0);
  });

  it('a check due while resume\'s install is still running neither judges nor counts: the rules go back once', async () => {
    const { k, rules, restored } = keeper();
    await k.start();
    await ticksTo(k, -TICK_MS, 4 * TICK_MS);
    rules.present = undefined;
    k.removingByWatchdog();
    k.removedByWatchdog();
    const slow = gate();
    rules.installGate = slow.wait;
    k.resume();
    await ticksTo(k, 4 * TICK_MS, 4 * TICK_MS + 2 * RULE_CHECK_MS); // checks due, the install still out
    expect(rules.present).toBeUndefined();
    slow.open();
    await settle();
    expect(rules.present).toEqual(PLAN_A);
    expect(rules.installs).toHaveLength(2);
    expect(await restored()).toBe(0);
    // later, a firewall's removal is still seen and repaired
    rules.installGate = undefined;
    rules.present = undefined;
    await ticksTo(k, 4 * TICK_MS + 2 * RULE_CHECK_MS, 4 * TICK_MS + 3 * RULE_CHECK_MS);
    expect(rules.present).toEqual(PLAN_A);
    expect(await restored()).toBe(1);
  });

  it('while the watchdog has the rules out nothing puts them back; resume does', async () => {
    const { k, rules, gauge } = keeper();
    await k.start();
    rules.present = undefined;
    k.removedByWatchdog();
    expect(await gauge()).toBe(0);
    k.tick(RULE_CHECK_MS * 3);
    await settle();
    expect(rules.present).toBeUndefined();
    k.resume();
    await settle();
    expect(rules.present).toEqual(PLAN_A);
    expect(k.installed).toBe(true);
  });

  it('a reload with the same plan touches nothing; a new plan is installed; a failed one puts the running plan back and throws', async () => {
    const { k, rules } = keeper();
    await k.start();
    await k.replan(JSON.parse(JSON.stringify(PLAN_A)) as InterceptionPlan);
    expect(rules.installs).toHaveLength(1);
    await k.replan(PLAN_B);
    expect(rules.present).toEqual(PLAN_B);
    expect(k.spec).toEqual(PLAN_B);
    rules.failNextInstall = true;
    await expect(k.replan(PLAN_A)).rejects.toThrow('iptables-restore');
    expect(rules.present).toEqual(PLAN_B);
    expect(k.spec).toEqual(PLAN_B);
  });

  it('a stopping daemon never reinstalls', async () => {
    let stopping = false;
    const { k, rules } = keeper(() => stopping);
    await k.start();
    rules.present = undefined;
    stopping = true;
    k.tick(RULE_CHECK_MS * 2);
    await settle();
    expect(rules.present).toBeUndefined();
  });
});
