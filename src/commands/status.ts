/** `zhuge status` — not built yet. */
export async function run(_argv: string[]): Promise<number> {
  console.error('zhuge status: not implemented yet');
  return 1;
}
