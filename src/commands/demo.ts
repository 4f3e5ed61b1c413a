/** `zhuge demo` — not built yet. */
export async function run(_argv: string[]): Promise<number> {
  console.error('zhuge demo: not implemented yet');
  return 1;
}
