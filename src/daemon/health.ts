/**
 * What /healthz and zhuge_health_problem say: whether the daemon, running, is doing its job, and
 * if not, why. Pure: the daemon gathers the readings, this judges them (time passed in).
 *
 * A process that answers is not enough for an operator (issue 15, "truthful health"): zhuge can
 * run while treating nothing. Each problem below makes /healthz answer 503 with every reason, one
 * per line, and sets zhuge_health_problem{problem} to 1 while it lasts:
 *
 *   rules_missing    the NFQUEUE rules are not installed (a failed install, a watchdog trip, a
 *                    firewall reload not yet repaired): no uplink packet reaches zhuge.
 *   queue_invisible  the wlan qdisc holds no queue (noqueue, none): with the qdisc backend the
 *                    packets wait where zhuge cannot see them, predictions stay near 0.
 *   queue_unread     the queue backend's reads have failed for QUEUE_UNREAD_MS (rtnetlink dumps,
 *                    the mac80211 stations directory): the model runs on the taps alone, drifting.
 *   interface_down   a tapped interface is administratively down: its tap sees nothing (zhuge
 *                    reopens it when the interface is up again).
 *   interface_gone   a tapped interface does not exist (deleted, or being re-created by hostapd
 *                    or netifd): its tap is closed, and reopened when an interface of that name
 *                    is back and up (io-health.ts).
 *   watchdog_failed  the watchdog could not remove the rules at a stall within the last
 *                    WATCHDOG_FAILED_SHOWN_MS: uplink traffic may have been held while zhuge hung.
 *                    A past event, kept red long enough for a probe every few minutes to see it;
 *                    zhuge_watchdog_trips_total keeps it for good.
 *
 * Not here, because the daemon does not run on with them: the NFQUEUE socket no longer read,
 * verdicts lost (io-health.ts: zhuge stops failing open and exits 1, so /healthz stops
 * answering), and the watchdog restarted too often.
 */

export const HEALTH_PROBLEMS = ['rules_missing', 'queue_invisible', 'queue_unread', 'interface_down', 'interface_gone', 'watchdog_failed'] as const;
export type HealthProblem = (typeof HEALTH_PROBLEMS)[number];

/** the queue backend's reads failing this long make it unread (ms; at least 5 read intervals) */
export const QUEUE_UNREAD_MS = 5000;
/** how long a watchdog that failed to remove the rules keeps /healthz red (ms) */
export const WATCHDOG_FAILED_SHOWN_MS = 300_000;

export interface HealthReadings {
  nowUs: number;
  rulesInstalled: boolean;
  /** the queue backend's view: undefined problem = a queue is there to see */
  queue: { problem: string | undefined; lastReadOkUs: number | undefined; startedUs: number; readIntervalMs: number };
  /** tapped interfaces that are down now */
  interfacesDown: readonly string[];
  /** tapped interfaces that do not exist now */
  interfacesGone: readonly string[];
  /** when the watchdog last failed to remove the rules (undefined: never) */
  watchdogFailedAtUs: number | undefined;
}

export interface HealthFinding {
  problem: HealthProblem;
  reason: string;
}

export interface Health {
  healthy: boolean;
  findings: HealthFinding[];
}

export function healthOf(r: HealthReadings): Health {
  const findings: HealthFinding[] = [];
  if (!r.rulesInstalled) findings.push({ problem: 'rules_missing', reason: 'rules not installed: no uplink packet reaches zhuge' });
  if (r.queue.problem !== undefined) findings.push({ problem: 'queue_invisible', reason: `the Wi-Fi queue is invisible: ${r.queue.problem}` });
  const unreadMs = Math.max(QUEUE_UNREAD_MS, 5 * r.queue.readIntervalMs);
  const lastOk = r.queue.lastReadOkUs ?? r.queue.startedUs;
  const sinceMs = (r.nowUs - lastOk) / 1000;
  if (sinceMs > unreadMs) {
    findings.push({ problem: 'queue_unread', reason: `the Wi-Fi queue ${r.queue.lastReadOkUs === undefined ? 'has never been read' : `has not been read for ${(sinceMs / 1000).toFixed(0)} s`} (its reads fail: see the log)` });
  }
  for (const dev of r.interfacesDown) findings.push({ problem: 'interface_down', reason: `interface ${dev} is down: its tap sees nothing` });
  for (const dev of r.interfacesGone) findings.push({ problem: 'interface_gone', reason: `interface ${dev} does not exist: its tap is closed until an interface of that name is back` });
  if (r.watchdogFailedAtUs !== undefined) {
    const agoMs = (r.nowUs - r.watchdogFailedAtUs) / 1000;
    if (agoMs <= WATCHDOG_FAILED_SHOWN_MS) {
      findings.push({ problem: 'watchdog_failed', reason: `the watchdog could not remove the rules at a stall ${(agoMs / 1000).toFixed(0)} s ago: uplink traffic may have been held` });
    }
  }
  return { healthy: findings.length === 0, findings };
}
