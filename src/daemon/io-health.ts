/**
 * Whether the daemon's I/O sources still work, judged once per housekeeping tick from what the
 * kernel says (interfaces in /sys, the NFQUEUE binding's counters). Pure: the daemon reads, this
 * decides, the daemon acts (interface-state.ts reads, daemon.ts acts).
 *
 * What an operator expects (docs/operations.md, "Fail-open behaviour" and "Exit codes"):
 *  - an interface that vanished (deleted, or re-created under the same name with a new ifindex)
 *    can't be followed: stop failing open (rules out, held packets released) and exit 1, so that
 *    systemd / procd restarts zhuge, which then opens the interface anew or says why it cannot;
 *  - an interface set down is logged; when it comes back up its capture tap is reopened (libpcap's
 *    socket reports an error when its interface goes down, and node-pcap stops reading it);
 *  - NFQUEUE: a socket no longer polled (re-arming failed), or verdicts dropped after repeated
 *    failed sends, means uplink packets would be held with nobody to release them: stop and exit
 *    1. A send that failed and is still failing three ticks later (its verdicts kept, unsent) is
 *    the same. A single failed send that the next one recovers is only counted.
 */
import type { NfQueueStats } from './nfqueue.js';

export interface InterfaceReading {
  ifindex: number;
  /** IFF_UP (administratively up) */
  up: boolean;
}

export interface IoSnapshot {
  /** the queue's counters (undefined: not open) */
  nfq: NfQueueStats | undefined;
  /** each tapped interface as read now (undefined: it no longer exists) */
  interfaces: ReadonlyMap<string, InterfaceReading | undefined>;
}

export type IoAction =
  | { kind: 'fatal'; reason: string }
  | { kind: 'reopen'; device: string; reason: string }
  | { kind: 'warn'; reason: string };

/** ticks a failed verdict send may stay unrecovered (verdicts pending, sends still failing) */
export const SEND_FAILURE_TICKS = 3;

export class IoHealth {
  private readonly down = new Set<string>();
  private lastSendErrors = 0;
  private lastVerdictsLost = 0;
  private sendFailingTicks = 0;

  /** tapped interfaces down at the last check (/healthz) */
  get interfacesDown(): string[] {
    return [...this.down];
  }

  /** `started`: each tapped interface as read when its tap was opened. */
  constructor(private readonly started: ReadonlyMap<string, InterfaceReading>) {}

  check(s: IoSnapshot): IoAction[] {
    const out: IoAction[] = [];
    for (const [dev, first] of this.started) {
      const now = s.interfaces.get(dev);
      if (now === undefined) {
        out.push({ kind: 'fatal', reason: `interface ${dev} vanished` });
        continue;
      }
      if (now.ifindex !== first.ifindex) {
        out.push({ kind: 'fatal', reason: `interface ${dev} was re-created (ifindex ${first.ifindex} -> ${now.ifindex})` });
        continue;
      }
      if (!now.up && !this.down.has(dev)) {
        this.down.add(dev);
        out.push({ kind: 'warn', reason: `interface ${dev} is down: its tap sees nothing until it is up again (then reopened)` });
      } else if (now.up && this.down.has(dev)) {
        this.down.delete(dev);
        out.push({ kind: 'reopen', device: dev, reason: `interface ${dev} is up again: reopening its tap` });
      }
    }
    const q = s.nfq;
    if (q !== undefined) {
      if (q.pollStopped === true) out.push({ kind: 'fatal', reason: `the NFQUEUE socket is no longer read (errno ${q.lastRecvErrno ?? 0})` });
      const lost = q.verdictsLost ?? 0;
      if (lost > this.lastVerdictsLost) out.push({ kind: 'fatal', reason: `${lost - this.lastVerdictsLost} NFQUEUE verdicts could not be sent (errno ${q.lastSendErrno ?? 0})` });
      this.lastVerdictsLost = lost;
      const sendErrors = q.sendErrors ?? 0;
      const failing = sendErrors > this.lastSendErrors && (q.pendingVerdicts ?? 0) > 0;
      this.sendFailingTicks = failing ? this.sendFailingTicks + 1 : 0;
      this.lastSendErrors = sendErrors;
      if (this.sendFailingTicks >= SEND_FAILURE_TICKS) {
        out.push({ kind: 'fatal', reason: `NFQUEUE verdicts have failed to send for ${this.sendFailingTicks} s (errno ${q.lastSendErrno ?? 0})` });
      }
    }
    return out;
  }
}
