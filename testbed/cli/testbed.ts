/**
 * `zhuge testbed up|down|status` — the netns lab of testbed/topology.ts (docs/design-notes.md §3).
 *
 *   up [--prefix P] [--rate-mbit R] [--buffer-ms M | --buffer-bytes B] [--delay-ms D] [--cc bbr|cubic]
 *      builds srv–wan–ap–cli and prints its names/addresses as JSON. With --delay-ms the base-RTT
 *      relay (D ms each way, so RTT ≈ 2·D) is started detached in wan; `down` removes it.
 *   down [--prefix P | --all]      removes one testbed (or every live one whose prefix starts with zg)
 *   status                         lists live testbeds as JSON
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { distScript } from '../scripts.js';
import { down, status, up, type TestbedOptions } from '../topology.js';

const USAGE = `usage: zhuge testbed up [--prefix P] [--rate-mbit R] [--buffer-ms M | --buffer-bytes B] [--delay-ms D] [--cc CC]
       zhuge testbed down [--prefix P | --all]
       zhuge testbed status`;

function parseFlags(argv: string[]): Map<string, string> | string {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) return `unexpected argument '${a}'`;
    if (a === '--all' || a === '--help') {
      m.set(a, 'true');
      continue;
    }
    const v = argv[i + 1];
    if (v === undefined) return `${a} needs a value`;
    m.set(a, v);
    i++;
  }
  return m;
}

function numFlag(flags: Map<string, string>, name: string): number | undefined | string {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : `${name} must be a positive number`;
}

async function startDetachedRelay(d: { ns: { wan: string }; ifaces: { wanSrv: string; wanAp: string }; subnet: string }, delayMs: number): Promise<void> {
  const child = spawn(
    'ip',
    [
      'netns', 'exec', d.ns.wan, process.execPath, distScript('relay'),
      '--down-dev', d.ifaces.wanSrv, '--up-dev', d.ifaces.wanAp, '--subnet', d.subnet,
      '--down-ms', String(delayMs), '--up-ms', String(delayMs),
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = new Promise<void>((resolve, reject) => {
    rl.on('line', (l) => {
      if (l.includes('"ready"')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`relay exited ${String(c)}: ${stderr.trim()}`)));
  });
  await ready;
  rl.close();
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const flags = parseFlags(rest);
  if (sub === undefined || sub === '--help' || typeof flags === 'string' || flags.has('--help')) {
    if (typeof flags === 'string') console.error(`zhuge testbed: ${flags}`);
    console.error(USAGE);
    return sub === '--help' || (typeof flags !== 'string' && flags.has('--help')) ? 0 : 2;
  }
  if (process.getuid?.() !== 0 && sub !== 'status') {
    console.error('zhuge testbed: needs root (network namespaces, tc, iptables)');
    return 4;
  }
  try {
    if (sub === 'status') {
      console.log(JSON.stringify(await status(), null, 2));
      return 0;
    }
    if (sub === 'down') {
      const prefix = flags.get('--prefix');
      if ((prefix === undefined) === !flags.has('--all')) {
        console.error(`zhuge testbed down: give exactly one of --prefix P or --all\n${USAGE}`);
        return 2;
      }
      const prefixes = prefix !== undefined ? [prefix] : (await status()).map((t) => t.prefix).filter((p) => p.startsWith('zg'));
      for (const p of prefixes) await down(p);
      console.log(JSON.stringify({ removed: prefixes }));
      return 0;
    }
    if (sub === 'up') {
      const opts: TestbedOptions = {};
      const prefix = flags.get('--prefix');
      if (prefix !== undefined) opts.prefix = prefix;
      const rate = numFlag(flags, '--rate-mbit');
      const bms = numFlag(flags, '--buffer-ms');
      const bb = numFlag(flags, '--buffer-bytes');
      const delay = numFlag(flags, '--delay-ms');
      for (const v of [rate, bms, bb, delay]) {
        if (typeof v === 'string') {
          console.error(`zhuge testbed up: ${v}`);
          return 2;
        }
      }
      if (bms !== undefined && bb !== undefined) {
        console.error('zhuge testbed up: --buffer-ms and --buffer-bytes are exclusive');
        return 2;
      }
      if (typeof rate === 'number') opts.rateBps = rate * 1e6;
      if (typeof bms === 'number') opts.bufferMs = bms;
      if (typeof bb === 'number') opts.bufferBytes = Math.round(bb);
      const cc = flags.get('--cc');
      if (cc !== undefined) opts.congestionControl = cc;
      const tb = await up(opts);
      if (typeof delay === 'number') {
        try {
          await startDetachedRelay(tb.d, delay);
        } catch (e) {
          await tb.down();
          throw e;
        }
      }
      console.log(JSON.stringify({ ...tb.toJSON(), relayDelayMsEachWay: typeof delay === 'number' ? delay : 0 }, null, 2));
      return 0;
    }
    console.error(`zhuge testbed: unknown sub-command '${sub}'\n${USAGE}`);
    return 2;
  } catch (e) {
    console.error(`zhuge testbed ${sub}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

