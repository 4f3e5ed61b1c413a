/** `zhuge replay` — not built yet. */
export async function run(_argv: string[]): Promise<number> {
  console.error('zhuge replay: not implemented yet');
  return 1;
}
