import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newPrediction } from '../../src/fortune-teller/index.js';
import { PREDICTION_LOG_HEADER, PredictionLog } from '../../src/daemon/prediction-log.js';

const dir = mkdtempSync(join(tmpdir(), 'zhuge-predlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pred = (totalMs: number): ReturnType<typeof newPrediction> => ({ ...newPrediction(), totalMs, qLongMs: totalMs / 2, qShortMs: totalMs / 4, txMs: totalMs / 4 });

describe('PredictionLog', () => {
  it('a line per packet: wall time, key, queue and the four delays, in arrival order across flushes', async () => {
    const path = join(dir, 'a.log');
    const log = new PredictionLog(path, (us) => us + 1_000_000_000, 8);
    log.add(10, 4294967295, 0, pred(8));
    log.add(20.4, 7, 2, pred(1.5));
    await log.flush();
    log.add(30, 8, 1, pred(0));
    await log.flush();
    await log.flush(); // nothing new: nothing written
    expect(readFileSync(path, 'utf8')).toBe(
      PREDICTION_LOG_HEADER + ['1000000010 4294967295 0 8.000 4.000 2.000 2.000', '1000000020 7 2 1.500 0.750 0.375 0.375', '1000000030 8 1 0.000 0.000 0.000 0.000'].join('\n') + '\n',
    );
    expect(log.status()).toEqual({ path, written: 3, dropped: 0, writeErrors: 0 });
  });

  it('more packets than its arrays hold between flushes: the rest counted as dropped, the arrays reused after', async () => {
    const path = join(dir, 'b.log');
    const log = new PredictionLog(path, (us) => us, 4);
    for (let i = 0; i < 10; i++) log.add(i, i, 0, pred(i));
    await log.flush();
    log.add(99, 99, 0, pred(1));
    await log.flush();
    const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1);
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['0', '1', '2', '3', '99']);
    expect(log.dropped).toBe(6);
  });

  it('a file that cannot be written: counted and said, never thrown', async () => {
    const log = new PredictionLog(join(dir, 'missing-dir', 'c.log'), (us) => us, 4);
    log.add(1, 1, 0, pred(1));
    await expect(log.flush()).resolves.toBeUndefined();
    expect(log.writeErrors).toBe(2);
    expect(log.status().lastError).toMatch(/ENOENT/);
  });
});
