/**
 * The argument handling every sub-command shares: strict parsing, a usage error (exit 2) with the
 * command's usage text, and `--help` / `-h` (usage on stdout, exit 0).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

export type ParsedCommand<O extends OptionSpecs> =
  | { values: ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP; strict: true }>>['values']; exit?: undefined }
  | { values?: undefined; exit: number };

export function parseCommand<const O extends OptionSpecs>(name: string, usage: string, argv: string[], options: O): ParsedCommand<O> {
  const config = { args: argv, options: { ...options, ...HELP } as O & typeof HELP, strict: true as const };
  let parsed;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    console.error(`zhuge ${name}: ${(err as Error).message}\n${usage}`);
    return { exit: 2 };
  }
  // the generic O hides the inferred shape from the compiler; it is what parseArgs returns for it
  const values = parsed.values as Extract<ParsedCommand<O>, { exit?: undefined }>['values'];
  if ((values as { help?: boolean }).help === true) {
    console.log(usage);
    return { exit: 0 };
  }
  return { values };
}
