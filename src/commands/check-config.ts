/** `zhuge check-config` — not built yet. */
export async function run(_argv: string[]): Promise<number> {
  console.error('zhuge check-config: not implemented yet');
  return 1;
}
