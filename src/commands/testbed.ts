/** `zhuge testbed` — not built yet. */
export async function run(_argv: string[]): Promise<number> {
  console.error('zhuge testbed: not implemented yet');
  return 1;
}
