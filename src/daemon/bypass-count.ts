/**
 * Uplink packets the kernel let pass without queueing them to zhuge: NFQUEUE's fail-open (the
 * queue held nfqueue.maxLen packets) or its --queue-bypass (no socket bound: between a crash and
 * the watchdog's removal). The kernel counts neither. What it does count:
 *
 *   - the packets zhuge's NFQUEUE rules matched (their iptables counters, read with the rule
 *     check every RULE_CHECK_MS; an install starts them at 0);
 *   - the packets it queued to zhuge's socket (/proc/net/netfilter/nfnetlink_queue, id_sequence:
 *     the last packet id given; a fail-open packet gets none).
 *
 * So, since the last install: passed unqueued = matched - (id_sequence now - id_sequence at the
 * install). The rule counters are read first and the id sequence after, so a packet arriving in
 * between counts as queued, never as passed: the figure can miss a few, never invent one. It
 * only grows (a later reading lower by such packets changes nothing). Pure: readings passed in.
 */
export class BypassCount {
  private idsAtInstall = Number.NaN;
  private countedSinceInstall = 0;
  /** packets counted as passed unqueued, in all */
  total = 0;

  /** Just before the rules are (re)installed: the queue's id sequence then (NaN: unreadable). */
  installing(idSequence: number): void {
    this.idsAtInstall = idSequence;
    this.countedSinceInstall = 0;
  }

  /** A rule check: the rules' matched packets (read first; -1: unknown), then the id sequence. Returns the packets newly counted. */
  sample(matchedPackets: number, idSequence: number): number {
    if (!Number.isFinite(this.idsAtInstall) || matchedPackets < 0 || !(idSequence >= this.idsAtInstall)) return 0;
    const passed = matchedPackets - (idSequence - this.idsAtInstall);
    const add = Math.max(0, passed - this.countedSinceInstall);
    this.countedSinceInstall += add;
    this.total += add;
    return add;
  }
}
