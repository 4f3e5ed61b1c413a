/**
 * Progress display of long eval runs on stderr: on a TTY one line rewritten in place (\r) at
 * most once a second; otherwise plain lines, at most one every `plainEveryMs` (default 10 s)
 * unless the phase (the text before the first double space) changed. `quiet` prints nothing.
 */
export interface ProgressSink {
  /** the current status line (called as often as wanted) */
  update(line: string): void;
  /** a line that is always printed (ends any in-place line first) */
  log(line: string): void;
  done(): void;
}

export function progressSink(o: { tty: boolean; quiet: boolean; write: (s: string) => void; nowMs: () => number; plainEveryMs?: number }): ProgressSink {
  let last = -Infinity;
  let lastPhase = '';
  let open = false;
  const every = o.tty ? 1000 : (o.plainEveryMs ?? 10_000);
  const phase = (l: string): string => l.split('  ')[0] ?? l;
  return {
    update(line: string): void {
      if (o.quiet) return;
      const t = o.nowMs();
      const ph = phase(line);
      if (t - last < every && ph === lastPhase) return;
      last = t;
      lastPhase = ph;
      if (o.tty) {
        o.write(`\r${line.slice(0, 150).padEnd(100)}`);
        open = true;
      } else o.write(`${line}\n`);
    },
    log(line: string): void {
      if (o.quiet) return;
      if (open) o.write('\n');
      open = false;
      o.write(`${line}\n`);
    },
    done(): void {
      if (open && !o.quiet) o.write('\n');
      open = false;
    },
  };
}
