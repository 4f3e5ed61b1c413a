/**
 * The evaluation harness's entry for the `zhuge` command line: the `testbed`, `demo` and `eval`
 * commands. src/cli/harness.ts loads this module with the product CLI's only import into
 * testbed/ (a dynamic one), so `zhuge run|check-config|status|replay` never load the harness or
 * its dev dependencies (playwright-core for the WebRTC trials).
 *
 * Each command module exports `run(argv): Promise<number>` (the exit code) and is itself loaded
 * on use, so `zhuge testbed` does not load the browser driver `zhuge eval` needs.
 */

import type { HarnessCommand, HarnessCommandName } from '../../src/cli/harness.js';

export const HARNESS_COMMANDS: Record<HarnessCommandName, () => Promise<HarnessCommand>> = {
  testbed: () => import('./testbed.js'),
  demo: () => import('./demo.js'),
  eval: () => import('./eval.js'),
};
