import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { acquireInstanceLock, InstanceLockError } from '../../src/daemon/instance-lock.js';

const chain = (): string => `ZHUGE_T${process.pid}_${Math.floor(Math.random() * 1e6)}`;

describe('acquireInstanceLock (abstract Unix socket, one per chain and network namespace)', () => {
  it('refuses a second holder of the same chain and names the first one\'s pid', async () => {
    const c = chain();
    const first = await acquireInstanceLock(c);
    const second = acquireInstanceLock(c);
    await expect(second).rejects.toBeInstanceOf(InstanceLockError);
    await expect(second).rejects.toThrow(new RegExp(`pid ${process.pid}\\).*owns chain ${c}.*did not touch its rules`));
    await first.release();
  });

  it('another chain is another lock; a released lock can be taken again', async () => {
    const c = chain();
    const a = await acquireInstanceLock(c);
    const b = await acquireInstanceLock(`${c}X`);
    await a.release();
    const again = await acquireInstanceLock(c);
    await Promise.all([b.release(), again.release()]);
  });

  it('is freed when its holder dies without releasing it (kill -9)', async () => {
    const c = chain();
    const code = `import { createServer } from 'node:net'; createServer().listen({ path: '\\0zhuge-${c}' }, () => console.log('ready'));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    await expect(acquireInstanceLock(c)).rejects.toBeInstanceOf(InstanceLockError);
    child.kill('SIGKILL');
    await new Promise<void>((res) => child.once('exit', () => res()));
    const l = await acquireInstanceLock(c);
    await l.release();
  });
});
