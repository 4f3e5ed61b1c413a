import { fstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { childLogger, createLogger, flushLogger, LogBudget, logFailure, logFailureAsync, once, resetOnce, stdoutIsJournal } from '../../src/daemon/logger.js';

function memory(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('writes JSON lines with level label, time, service and the module of the child', () => {
    const mem = memory();
    const root = createLogger('info', { destination: mem.stream });
    const nfq = childLogger(root, 'nfqueue');
    nfq.info({ queueNum: 7000 }, 'bound');
    nfq.debug('hidden at info');
    const l = mem.lines();
    expect(l).toHaveLength(1);
    expect(l[0]).toMatchObject({ level: 'info', module: 'nfqueue', service: 'zhuge', queueNum: 7000, msg: 'bound' });
    expect(typeof l[0]?.['time']).toBe('string');
    expect(Number.isNaN(Date.parse(String(l[0]?.['time'])))).toBe(false);
  });

  it('logFailure: a step that throws is logged at error and the next steps run (exception-safe shutdown)', () => {
    const mem = memory();
    const root = createLogger('info', { destination: mem.stream });
    const ran: string[] = [];
    logFailure(root, 'flushing the verdicts', () => {
      throw new Error('sendmsg: ENOBUFS');
    });
    logFailure(root, 'closing the queue', () => ran.push('close'));
    expect(ran).toEqual(['close']);
    expect(mem.lines()).toEqual([expect.objectContaining({ level: 'error', msg: 'flushing the verdicts failed', err: 'Error: sendmsg: ENOBUFS' })]);
  });

  it('logFailureAsync: a rejected step (iptables failing at stop) is logged and the next steps run', async () => {
    const mem = memory();
    const root = createLogger('info', { destination: mem.stream });
    const ran: string[] = [];
    await logFailureAsync(root, 'removing the rules', () => Promise.reject(new Error('iptables-restore: exit 4')));
    await logFailureAsync(root, 'stopping the watchdog', async () => {
      ran.push('watchdog');
    });
    expect(ran).toEqual(['watchdog']);
    expect(mem.lines()).toEqual([expect.objectContaining({ level: 'error', msg: 'removing the rules failed', err: 'Error: iptables-restore: exit 4' })]);
  });

  it('LogBudget: at most n lines a window, the ones left out said in the next window\'s first line', () => {
    const b = new LogBudget(3, 1000);
    const oks = Array.from({ length: 10 }, (_, i) => b.take(i).ok);
    expect(oks).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(b.take(1000)).toEqual({ ok: true, left: 7 });
    expect(b.take(1001)).toEqual({ ok: true, left: 0 });
    expect(b.suppressedTotal).toBe(7);
  });

  it('syslogPrefix: each line starts with its syslog priority for the journal (journalctl -p err finds errors)', () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    const root = createLogger('debug', { destination: stream, syslogPrefix: true });
    root.error('e');
    root.warn('w');
    root.info('i');
    root.debug('d');
    root.fatal('f');
    const prefixes = chunks.join('').split('\n').filter((l) => l !== '').map((l) => l.slice(0, 3));
    expect(prefixes).toEqual(['<3>', '<4>', '<6>', '<7>', '<2>']);
    // the rest of the line is the usual JSON
    expect(JSON.parse(chunks.join('').split('\n')[0]?.slice(3) ?? '')).toMatchObject({ level: 'error', msg: 'e' });
  });

  it.each([
    ['warn', ['info', 'debug'], ['warn', 'error', 'fatal']],
    ['error', ['info', 'debug', 'warn'], ['error', 'fatal']],
  ] as const)('stderrLevel %s: each line goes to one stream, the two priorities of procd', (from, outLevels, errLevels) => {
    const sink = (into: string[]): Writable =>
      new Writable({
        write(chunk: Buffer | string, _enc, cb) {
          into.push(...chunk.toString().split('\n').filter((l) => l !== ''));
          cb();
        },
      });
    const out: string[] = [];
    const err: string[] = [];
    const root = createLogger('debug', { destination: sink(out), errorDestination: sink(err), stderrLevel: from });
    const log = childLogger(root, 'm');
    log.info('i');
    log.debug('d');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    const levels = (lines: string[]): string[] => lines.map((l) => (JSON.parse(l) as { level: string }).level).sort();
    expect(levels(out)).toEqual([...outLevels].sort());
    expect(levels(err)).toEqual([...errLevels].sort());
  });

  it('stdoutIsJournal: only when JOURNAL_STREAM names fd 1 itself (an inherited variable is not enough)', () => {
    expect(stdoutIsJournal({})).toBe(false);
    expect(stdoutIsJournal({ JOURNAL_STREAM: '0:1' })).toBe(false);
    const st = fstatSync(1);
    expect(stdoutIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` })).toBe(true);
  });

  it('respects the level', () => {
    const mem = memory();
    const root = createLogger('warn', { destination: mem.stream });
    root.info('no');
    root.warn('yes');
    root.error('yes too');
    expect(mem.lines().map((x) => x['msg'])).toEqual(['yes', 'yes too']);
  });

  it('once() logs the first occurrence of a key only, per logger', () => {
    const mem = memory();
    const root = createLogger('info', { destination: mem.stream });
    const a = childLogger(root, 'a');
    const b = childLogger(root, 'b');
    const results = [
      once(a, 'malformed:truncated', 'malformed packet', { reason: 'truncated', n: 1 }),
      once(a, 'malformed:truncated', 'malformed packet', { reason: 'truncated', n: 2 }),
      once(a, 'malformed:bad-length', 'malformed packet', { reason: 'bad-length' }),
      once(b, 'malformed:truncated', 'malformed packet', { reason: 'truncated', n: 3 }),
    ];
    expect(results).toEqual([true, false, true, true]);
    const l = mem.lines();
    expect(l.map((x) => [x['module'], x['reason'], x['n']])).toEqual([
      ['a', 'truncated', 1],
      ['a', 'bad-length', undefined],
      ['b', 'truncated', 3],
    ]);
    expect(l[0]?.['level']).toBe('warn');
    resetOnce(a);
    expect(once(a, 'malformed:truncated', 'again')).toBe(true);
  });

  it('once() remembers a bounded number of keys', () => {
    const mem = memory();
    const root = createLogger('info', { destination: mem.stream });
    let logged = 0;
    for (let i = 0; i < 2000; i++) if (once(root, `k${i}`, 'x')) logged++;
    expect(logged).toBe(1024);
  });

  it('flushLogger waits until an asynchronous file destination has everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-log-'));
    try {
      const file = join(dir, 'log.jsonl');
      const dest = pino.destination({ dest: file, sync: false, minLength: 16000, mkdir: true });
      await new Promise<void>((r) => dest.once('ready', () => r()));
      const root = createLogger('info', { destination: dest });
      for (let i = 0; i < 100; i++) root.info({ i }, 'line');
      // buffered (minLength 16000 B > 100 short lines): nothing written yet
      expect(readFileSync(file, 'utf8')).toBe('');
      await flushLogger(root);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(100);
      expect(JSON.parse(lines[99] ?? '{}')).toMatchObject({ i: 99 });
      dest.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
