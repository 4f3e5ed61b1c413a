/**
 * One WebRTC call over a bandwidth trace played in the ap namespace, cold or from a steady
 * state (steady-start.ts): the trace starts when the call connects, or once the call has held
 * its cap with the link at STEADY_LINK_FACTOR x that cap. Shared by the trace evaluation
 * (testbed/eval/trace.ts) and the evidence runs (evidence-run.ts), so both measure the same span.
 */
import { playInAp } from '../player.js';
import type { Testbed } from '../topology.js';
import type { Schedule } from '../trace.js';
import { monoNowMs } from '../traffic.js';
import { runRtcCall, type RtcCallResult } from './call.js';
import { SteadyWatch, type SteadyStart } from './steady-start.js';

/** The link's rate before a steady start's trace, over the sender's cap (as the drop sweep's 2 Mbit/s for a 1.5 cap). */
export const STEADY_LINK_FACTOR = 4 / 3;

export interface TraceCall {
  call: RtcCallResult;
  /** the measured span: cold, from a second after connecting to the call's end; steady, the trace's span from its start (monotonic ms) */
  fromMonoMs: number;
  endMonoMs: number;
  /** steady start: whether the call held its cap before the trace (undefined: cold start) */
  held: boolean | undefined;
}

/** The link's rate to set before the call. */
export function traceCallFirstRateBps(sched: Schedule, steady: SteadyStart | undefined): number {
  return steady !== undefined ? steady.capBps * STEADY_LINK_FACTOR : (sched.steps[0]?.rateBps ?? 8000);
}

/** The call, with the trace played from its start point; the player is stopped on any exit. */
export async function runTraceCall(tb: Testbed, sched: Schedule, steady: SteadyStart | undefined): Promise<TraceCall> {
  let play: ReturnType<typeof playInAp> | undefined;
  let playAtMs = Number.NaN;
  const start = (): void => {
    playAtMs = monoNowMs();
    play = playInAp(tb, { schedule: sched });
  };
  const durationS = sched.durationMs / 1000;
  const watch = steady !== undefined ? new SteadyWatch(steady) : undefined;
  let held = false;
  try {
    const call = await runRtcCall(tb, {
      durationS: steady !== undefined ? steady.earliestS + steady.maxWaitS + durationS : durationS,
      ...(steady !== undefined ? { maxBitrateBps: steady.capBps } : {}),
      onConnected: (ms) => {
        if (watch === undefined) start();
        else watch.connected(ms);
      },
      onSample: (smp) => {
        if (watch === undefined || !Number.isNaN(playAtMs)) return;
        if (smp.kind === 'sender') watch.add(smp.tMs, smp.bitrateBps);
        const d = watch.decide(monoNowMs());
        if (d === 'wait') return;
        held = d === 'steady';
        start();
      },
    });
    await play?.done.catch(() => undefined);
    const fromMonoMs = watch === undefined ? call.connectedMonoMs + 1000 : playAtMs;
    const endMonoMs = watch === undefined ? call.endMonoMs : Math.min(call.endMonoMs, playAtMs + sched.durationMs);
    if (Number.isNaN(fromMonoMs)) throw new Error('the trace never started (the call ended before it held its cap)');
    return { call, fromMonoMs, endMonoMs, held: watch === undefined ? undefined : held };
  } finally {
    if (play !== undefined && play.child.exitCode === null) play.child.kill('SIGTERM');
  }
}
