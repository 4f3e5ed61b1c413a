/**
 * One daemon per chain and network namespace. Two daemons on one chain would each flush and
 * delete it (at start, at exit, after a failed start, from the watchdog): the second's failed
 * start removed the first's rules while the first's /healthz stayed 200.
 *
 * The lock is a listening Unix socket in the abstract namespace, `@zhuge-<chain>`: the kernel
 * frees it whenever the process ends, kill -9 and OOM included, so a crashed daemon never leaves
 * a stale lock; and abstract sockets, like iptables chains, belong to a network namespace, so the
 * lock has exactly the scope of what it protects. The holder answers a connection with its pid,
 * which the refused daemon names in its error.
 */
import { createConnection, createServer, type Server } from 'node:net';

export class InstanceLockError extends Error {
  override readonly name = 'InstanceLockError';
}

export interface InstanceLock {
  readonly name: string;
  release(): Promise<void>;
}

/** The abstract socket name of the lock for `chain` (a leading NUL: the abstract namespace). */
export function lockName(chain: string): string {
  return `\0zhuge-${chain}`;
}

/** Takes the lock for `chain`, or rejects with InstanceLockError naming the holder's pid. */
export function acquireInstanceLock(chain: string): Promise<InstanceLock> {
  const name = lockName(chain);
  return new Promise((resolve, reject) => {
    const server: Server = createServer((sock) => sock.end(`${process.pid}\n`));
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') {
        reject(new InstanceLockError(`cannot take the instance lock @zhuge-${chain}: ${err.message}`));
        return;
      }
      void holderPid(name).then((pid) =>
        reject(
          new InstanceLockError(
            `another zhuge${pid !== undefined ? ` (pid ${pid})` : ''} already owns chain ${chain} in this network namespace; ` +
              'this one did not touch its rules (stop it first, or give this one another nfqueue.chain and nfqueue.queueNum)',
          ),
        ),
      );
    });
    server.listen({ path: name }, () => {
      server.unref();
      resolve({
        name,
        release: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** Asks the holder of the lock for its pid (undefined when it does not answer within 500 ms). */
function holderPid(name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const sock = createConnection({ path: name });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(undefined);
    }, 500);
    sock.on('data', (d) => (text += d.toString()));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      const pid = Number.parseInt(text, 10);
      resolve(Number.isInteger(pid) && pid > 0 ? pid : undefined);
    });
  });
}
