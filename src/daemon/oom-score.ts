/**
 * The daemon's OOM score adjustment (`zhuge run --oom-score-adj N`), for supervisors that have no
 * setting of their own: systemd has OOMScoreAdjust= (deploy/systemd/zhuge.service), OpenWrt's
 * procd has none, so its init script passes the option. A killed daemon fails open but loses the
 * uplink packets it held (docs/operations.md), so the kernel should pick another process first.
 *
 * Lowering the value needs CAP_SYS_RESOURCE (root has it; the dedicated zhuge user with only
 * CAP_NET_ADMIN + CAP_NET_RAW does not): then the daemon runs on with the default and says so.
 * Set before the watchdog is spawned, which inherits it.
 */
import { writeFileSync } from 'node:fs';

export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;

/** Parses the option's value; undefined when it is not an integer in -1000..1000. */
export function parseOomScoreAdj(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text.trim())) return undefined;
  const n = Number(text);
  return n >= OOM_SCORE_ADJ_MIN && n <= OOM_SCORE_ADJ_MAX ? n : undefined;
}

/** Writes the adjustment for this process; returns why it could not (undefined: done). */
export function setOomScoreAdj(value: number, path = '/proc/self/oom_score_adj'): string | undefined {
  try {
    writeFileSync(path, `${value}\n`);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? `lowering the OOM score needs CAP_SYS_RESOURCE (${code})` : String(err);
  }
}
