/**
 * `zhuge check-config [FILE] [--print]` — validate a configuration file without running anything.
 *
 * Prints `ok: FILE` and exits 0, or prints one `file:line:col: key: problem` line per problem
 * on stderr and exits 3. `--print` also prints the effective configuration (defaults filled) as
 * JSON on stdout. Usage errors exit 2.
 */
import { ConfigError, configWarnings, DEFAULT_CONFIG_PATH, loadConfig } from '../config/index.js';

const EXIT_OK = 0;
const EXIT_USAGE = 2;
const EXIT_CONFIG = 3;

const USAGE = `usage: zhuge check-config [FILE] [--print]

Validates FILE (default ${DEFAULT_CONFIG_PATH}) against the configuration schema.
  --print    also print the effective configuration (defaults filled in) as JSON
exit status: 0 valid · 2 usage error · 3 invalid or unreadable configuration`;

export async function run(argv: string[]): Promise<number> {
  let file: string | undefined;
  let print = false;
  for (const a of argv) {
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      return EXIT_OK;
    } else if (a === '--print') {
      print = true;
    } else if (a.startsWith('-') && a !== '-') {
      console.error(`zhuge check-config: unknown option '${a}'\n${USAGE}`);
      return EXIT_USAGE;
    } else if (file === undefined) {
      file = a;
    } else {
      console.error(`zhuge check-config: one file at a time (got '${file}' and '${a}')\n${USAGE}`);
      return EXIT_USAGE;
    }
  }
  const path = file ?? DEFAULT_CONFIG_PATH;
  try {
    const cfg = loadConfig(path === '-' ? '/dev/stdin' : path);
    if (print) console.log(JSON.stringify(cfg, null, 2));
    for (const w of configWarnings(cfg)) console.error(`warning: ${path}: ${w}`);
    console.log(`ok: ${path}`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      const n = err.problems.length;
      console.error(`${path}: ${n} problem${n === 1 ? '' : 's'}`);
      return EXIT_CONFIG;
    }
    throw err;
  }
}
