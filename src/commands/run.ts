/** `zhuge run` — not built yet. */
export async function run(_argv: string[]): Promise<number> {
  console.error('zhuge run: not implemented yet');
  return 1;
}
