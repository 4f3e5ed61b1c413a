/**
 * The watchdog process's program, kept as plain JavaScript source so it runs the same from src/
 * (vitest) and dist/ (`node -e`, no build step, no TypeScript loader, no imports beyond node:).
 *
 * Protocol (daemon → watchdog on the watchdog's stdin, one byte per message):
 *   'h'  heartbeat (every ~50 ms from a setInterval in the daemon)
 *   'b'  bye: the daemon removed its rules itself; exit 0 without touching anything
 * watchdog → daemon on the watchdog's stdout, one line per message:
 *   'ready'            started, armed
 *   'removing stall'   no heartbeat for > stallMs: written before the removal commands run, so
 *                      the daemon knows of the removal before any listing of its own can see it
 *   'removed stall'    no heartbeat for > stallMs: the removal commands ran (and the check, if
 *                      any, says the rules are gone)
 *   'remove failed stall'  the same, but the check still found the rules after four attempts
 *   'resumed'          heartbeats came back after a stall removal (the daemon re-installs)
 * When stdin closes without a bye (the daemon died: crash, kill -9, OOM), the watchdog runs the
 * removal commands and exits. SIGTERM/SIGINT/SIGHUP to the watchdog do the same.
 *
 * Configuration comes in the environment: ZHUGE_WD_CMDS (JSON string[] of /bin/sh lines),
 * ZHUGE_WD_CHECK (a /bin/sh line exiting 0 once the rules are gone; empty: no check),
 * ZHUGE_WD_STALL_MS.
 */
export const WATCHDOG_CHILD_SOURCE = String.raw`
'use strict';
const { spawnSync } = require('node:child_process');
const cmds = JSON.parse(process.env.ZHUGE_WD_CMDS || '[]');
const stallMs = Number(process.env.ZHUGE_WD_STALL_MS || '200');
const now = () => performance.now(); // monotonic: an NTP step is not a stall
let last = now();
let removed = false;
let done = false;
function out(line) { try { process.stdout.write(line + '\n'); } catch (e) { /* daemon gone */ } }
const check = process.env.ZHUGE_WD_CHECK || '';
// Runs the removal and, given a check (a shell line exiting 0 once the rules are gone: the
// removal lines end in '|| true' and iptables may have waited out the xtables lock), verifies
// it, trying again after 100, 200 and 400 ms. Returns whether the rules are known to be gone.
function removeRules() {
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 * 2 ** (attempt - 1));
    for (const c of cmds) spawnSync('/bin/sh', ['-c', c], { stdio: 'ignore', timeout: 10000 });
    if (check === '') return true;
    const r = spawnSync('/bin/sh', ['-c', check], { stdio: 'ignore', timeout: 10000 });
    if (r.status === 0) return true;
  }
  return false;
}
function finish(code, runRemoval) {
  if (done) return;
  done = true;
  if (runRemoval) removeRules();
  process.exit(code);
}
process.stdout.on('error', () => {});
process.stdin.on('data', (buf) => {
  for (const b of buf) {
    if (b === 0x62) return finish(0, false);            // 'b'
    if (b === 0x68) {                                    // 'h'
      last = now();
      if (removed) { removed = false; out('resumed'); }
    }
  }
});
process.stdin.on('end', () => finish(0, true));
process.stdin.on('close', () => finish(0, true));
process.stdin.on('error', () => finish(0, true));
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => finish(0, true));
const period = Math.max(5, Math.min(50, Math.floor(stallMs / 4)));
let lastTick = now();
setInterval(() => {
  const t = now();
  // If this timer itself ran late, the watchdog was the one starved of CPU: heartbeats may be
  // sitting unread in the pipe (timers run before I/O in a loop iteration). Let stdin be read
  // first and judge at the next tick, so a loaded machine gives no false stall.
  const late = t - lastTick > 3 * period;
  lastTick = t;
  if (late) return;
  if (!removed && t - last > stallMs) {
    removed = true;
    out('removing stall');
    const gone = removeRules();
    lastTick = now();
    out(gone ? 'removed stall' : 'remove failed stall');
  }
}, period);
out('ready');
`;
