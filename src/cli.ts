#!/usr/bin/env node
/**
 * zhuge command-line front end. Each daemon sub-command lives in src/cli/<name>.ts and exports
 * `run(argv): Promise<number>` (the exit code); modules load lazily so `--help` needs no native addon.
 * The harness commands (testbed, demo, eval) live in testbed/cli/ behind src/cli/harness.ts.
 *
 * Exit codes (documented in docs/operations.md):
 *   0 ok · 1 runtime failure · 2 usage error · 3 invalid configuration · 4 needs root / missing system dependency
 */
import type { HarnessCommandName } from './cli/harness.js';
import { VERSION } from './version.js';

interface CommandInfo {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

/** testbed, demo and eval belong to the evaluation harness (testbed/cli/), reached through src/cli/harness.ts. */
async function harness(name: HarnessCommandName): Promise<{ run: (argv: string[]) => Promise<number> }> {
  const { runHarnessCommand } = await import('./cli/harness.js');
  return { run: (argv) => runHarnessCommand(name, argv) };
}

const COMMANDS: Record<string, CommandInfo> = {
  run: { summary: 'run the daemon (--config FILE)', load: () => import('./cli/run.js') },
  'check-config': { summary: 'validate a configuration file', load: () => import('./cli/check-config.js') },
  status: { summary: 'show flows, predictions and holds of a running daemon', load: () => import('./cli/status.js') },
  replay: { summary: 'run the codecs and the Fortune Teller over pcap captures', load: () => import('./cli/replay.js') },
  testbed: { summary: 'build or tear down the netns testbed (up|down|status)', load: () => harness('testbed') },
  demo: { summary: 'bandwidth-drop demo on the testbed, without and with zhuge', load: () => harness('demo') },
  eval: { summary: 'evaluation experiments on the testbed (drop|trace|accuracy|overhead)', load: () => harness('eval') },
};

export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, environment: 4 } as const;

function help(): string {
  const lines = [
    `zhuge ${VERSION} — consistent low latency for real-time traffic over Wi-Fi`,
    '',
    'usage: zhuge <command> [options]',
    '       zhuge --version | --help',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`),
    '',
    "run 'zhuge <command> --help' for a command's options.",
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(help());
    return cmd === undefined ? EXIT.usage : EXIT.ok;
  }
  if (cmd === '--version' || cmd === '-v') {
    console.log(VERSION);
    return EXIT.ok;
  }
  const info = COMMANDS[cmd];
  if (info === undefined) {
    console.error(`zhuge: unknown command '${cmd}'\n\n${help()}`);
    return EXIT.usage;
  }
  const mod = await info.load();
  return mod.run(rest);
}

const isEntry = process.argv[1] !== undefined && /cli\.(js|ts)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`zhuge: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = EXIT.failure;
    },
  );
}
