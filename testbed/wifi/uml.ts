/**
 * The Wi-Fi testbed's kernel (issue 17): a User-Mode Linux kernel with mac80211_hwsim, booted as
 * an ordinary process (no KVM) on the host's root filesystem (hostfs), so Debian's hostapd,
 * wpa_supplicant and iw run inside it unchanged. scripts/build-uml.sh builds and caches it;
 * testbed/wifi/uml-init.sh is its PID 1: it starts an AP (hostapd on wlan0) and a station
 * (wpa_supplicant on wlan1, in the namespace `sta`), waits for the association, runs a scenario
 * script and powers off. Results are files in a host directory the init writes to.
 *
 * What a boot costs here (2 cores, no KVM): see docs/wifi-testbed.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** the repository root, from src (testbed/wifi) or dist (dist/testbed/wifi) */
export const REPO_ROOT = existsSync(join(HERE, '../../package.json')) ? join(HERE, '../..') : join(HERE, '../../..');
export const UML_INIT = join(REPO_ROOT, 'testbed/wifi/uml-init.sh');
/**
 * Where files shared with UML live (results, scenario scripts): anywhere but /run, which the init
 * covers with its own tmpfs inside UML; /var/tmp keeps them off the host's /tmp clean-ups.
 */
export const UML_SHARED_TMP = '/var/tmp';

/** The cached kernel binary scripts/build-uml.sh would print, without building (undefined: not built). */
export function cachedUmlKernel(): string | undefined {
  try {
    const out = execFileSync('bash', [join(REPO_ROOT, 'scripts/build-uml.sh'), '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out !== '' && existsSync(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

export interface UmlBootOptions {
  kernel: string;
  /** radios mac80211_hwsim creates (default 2: the AP and one station) */
  radios?: number;
  /** hwsim's pending_limit (our patch): stop mac80211's queues while this many frames await status (0: stock) */
  pendingLimit?: number;
  /** a shell script run inside UML once the station is associated */
  scenario?: string;
  /** UML memory (default 384 MB) */
  memMb?: number;
  /** more KEY=value words for the init's (and the scenario's) environment */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface UmlBootResult {
  /** the results directory the init wrote to */
  out: string;
  exitCode: number | null;
  /** wall time from launch to exit */
  wallMs: number;
  /** 'associated' | 'not-associated' | undefined (the init never got there) */
  state: string | undefined;
  /** the init's log lines ("<uptime s> what") */
  initLog: string[];
  console: string;
}

/** Boots the kernel with the testbed's init; resolves when it powered off (or was killed at the timeout). */
export async function bootUml(o: UmlBootOptions): Promise<UmlBootResult> {
  const out = mkdtempSync(join(UML_SHARED_TMP, 'zhuge-uml-'));
  const args = [
    `mem=${o.memMb ?? 384}M`,
    'rootfstype=hostfs',
    'rootflags=/',
    'rw',
    `init=${UML_INIT}`,
    // the console on this process's stdio, no other consoles or serial lines (they would spawn xterms)
    'con=null',
    'con0=fd:0,fd:1',
    'ssl=null',
    `mac80211_hwsim.radios=${o.radios ?? 2}`,
    'mac80211_hwsim.support_p2p_device=0',
    `mac80211_hwsim.pending_limit=${o.pendingLimit ?? 0}`,
    `ZHUGE_UML_OUT=${out}`,
    `ZHUGE_REPO=${REPO_ROOT}`,
    ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(o.scenario !== undefined ? [`ZHUGE_UML_SCENARIO=${o.scenario}`] : []),
  ];
  const t0 = performance.now();
  // UML keeps its memory in a file under TMPDIR
  const child = spawn(o.kernel, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmpdir() } });
  let consoleText = '';
  const keep = (b: Buffer): void => {
    if (consoleText.length < 1_000_000) consoleText += b.toString();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const read = (f: string): string | undefined => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : undefined);
  return {
    out,
    exitCode,
    wallMs: performance.now() - t0,
    state: read('state')?.trim(),
    initLog: (read('init.log') ?? '').split('\n').filter((l) => l !== ''),
    console: consoleText,
  };
}

/** The files of a results directory (for a failure message). */
export function listResults(out: string): string[] {
  return existsSync(out) ? readdirSync(out) : [];
}
