import { describe, expect, it } from 'vitest';
import { RuleReconciler, type RuleReconcilerHooks } from '../../src/daemon/rule-reconciler.js';

/** A scripted filter table: `present` answers isInstalled, reinstall puts the rules back unless told to fail. */
function rig(opts: { present?: boolean; failReinstall?: number; failCheck?: boolean } = {}) {
  const log: string[] = [];
  const state = { present: opts.present ?? true, failReinstall: opts.failReinstall ?? 0, paused: false, pauseDuringCheck: false };
  const hooks: RuleReconcilerHooks = {
    isInstalled: async () => {
      log.push('check');
      if (opts.failCheck === true) throw new Error('iptables-save failed');
      if (state.pauseDuringCheck) state.paused = true;
      return state.present;
    },
    reinstall: async () => {
      log.push('reinstall');
      if (state.failReinstall > 0) {
        state.failReinstall--;
        throw new Error('xtables lock');
      }
      state.present = true;
    },
    paused: () => state.paused,
    missing: () => log.push('missing'),
    reinstalled: () => log.push('reinstalled'),
    failed: (what) => log.push(`failed ${what}`),
  };
  return { r: new RuleReconciler(5000, hooks), log, state };
}

describe('RuleReconciler', () => {
  it.each([
    { name: 'rules in place: a check, nothing else', present: true, want: ['check'] },
    { name: 'rules gone: said once, put back', present: false, want: ['check', 'missing', 'reinstall', 'reinstalled'] },
  ])('$name', async ({ present, want }) => {
    const { r, log } = rig({ present });
    await r.tick(0);
    expect(log).toEqual(want);
  });

  it('checks only every everyMs', async () => {
    const { r, log } = rig();
    for (const t of [0, 1000, 4999, 5000, 9999, 10_000]) await r.tick(t);
    expect(log).toEqual(['check', 'check', 'check']);
    expect(r.checks).toBe(3);
  });

  it('a failed reinstall is retried at the next check, within one episode', async () => {
    const { r, log, state } = rig({ present: false, failReinstall: 2 });
    await r.tick(0);
    await r.tick(5000);
    await r.tick(10_000);
    await r.tick(15_000);
    expect(log).toEqual([
      'check', 'missing', 'reinstall', 'failed reinstall',
      'check', 'reinstall', 'failed reinstall',
      'check', 'reinstall', 'reinstalled',
      'check',
    ]);
    expect(state.present).toBe(true);
    expect([r.found, r.repaired]).toEqual([1, 1]);
    // removed again later: a new episode
    state.present = false;
    await r.tick(20_000);
    expect(log.slice(-4)).toEqual(['check', 'missing', 'reinstall', 'reinstalled']);
    expect([r.found, r.repaired]).toEqual([2, 2]);
  });

  it('does nothing while paused (stopping, a reload, the watchdog after a stall)', async () => {
    const { r, log, state } = rig({ present: false });
    state.paused = true;
    await r.tick(0);
    await r.tick(10_000);
    expect(log).toEqual([]);
  });

  it('a pause that begins while iptables-save runs wins: nothing is reinstalled', async () => {
    const { r, log, state } = rig({ present: false });
    state.pauseDuringCheck = true;
    await r.tick(0);
    expect(log).toEqual(['check']);
  });

  it('a failed check is said and retried later, never taken as "missing"', async () => {
    const { r, log } = rig({ failCheck: true });
    await r.tick(0);
    await r.tick(5000);
    expect(log).toEqual(['check', 'failed check', 'check', 'failed check']);
  });

  it('never overlaps a check still running', async () => {
    const { r, log } = rig();
    const a = r.tick(0);
    const b = r.tick(10_000); // busy: skipped
    await Promise.all([a, b]);
    expect(log).toEqual(['check']);
  });
});
