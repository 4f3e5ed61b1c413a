/**
 * The one door from the product CLI into the evaluation harness (testbed/): `zhuge testbed`,
 * `zhuge demo` and `zhuge eval` are implemented in testbed/cli/ and reached through the single
 * dynamic import below. Nothing else under src/ imports testbed/ (test/cli/boundary.test.ts
 * checks it), so the daemon's commands never load the harness or its dev dependencies.
 *
 * The harness ships in the source tree and needs the dev dependencies (playwright-core for the
 * WebRTC trials); when it or one of them cannot be loaded the command says so and exits 4
 * (missing dependency) instead of printing a module-resolution stack.
 */
/** The commands testbed/cli/index.ts implements. */
export type HarnessCommandName = 'testbed' | 'demo' | 'eval';

/** A command implementation: parses argv, runs, returns the exit code. */
export interface HarnessCommand {
  run(argv: string[]): Promise<number>;
}

const EXIT_ENVIRONMENT = 4;

function isModuleNotFound(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND');
}

/** Loads the harness command `name` and runs it with argv; its exit code. */
export async function runHarnessCommand(name: HarnessCommandName, argv: string[]): Promise<number> {
  let command: HarnessCommand;
  try {
    const harness = await import('../../testbed/cli/index.js');
    command = await harness.HARNESS_COMMANDS[name]();
  } catch (err) {
    if (!isModuleNotFound(err)) throw err;
    console.error(
      `zhuge ${name}: the evaluation harness (testbed/) or one of its dev dependencies cannot be loaded: ${err.message}\n` +
        `'zhuge ${name}' runs from a source checkout with the dev dependencies installed (npm ci; npm run build); the daemon's commands (run, check-config, status, replay) do not need it.`,
    );
    return EXIT_ENVIRONMENT;
  }
  return command.run(argv);
}
