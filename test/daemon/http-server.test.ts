import { request } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bindErrorMessage, HttpServer, type StatusSnapshot } from '../../src/daemon/http-server.js';
import { createMetrics } from '../../src/daemon/metrics.js';

const SNAP: StatusSnapshot = {
  version: '0.1.0',
  uptimeS: 12,
  backend: 'qdisc',
  heldPackets: 3,
  queues: [{ name: 'wlan0', backlogBytes: 4500, rateBps: 2e6, predictedDelayMs: 18 }],
  flows: [{ flow: 'tcp 10.0.0.1:5201 > 10.0.1.2:40000', protocol: 'tcp', mode: 'ack-delay', predictedDelayMs: 18, heldPackets: 3 }],
};

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function started(opts: Partial<ConstructorParameters<typeof HttpServer>[0]> = {}): Promise<{ server: HttpServer; port: number }> {
  const metrics = createMetrics({ processMetrics: false });
  const server = new HttpServer({ listen: '127.0.0.1:0', metrics, status: () => SNAP, ...opts });
  servers.push(server);
  const { port } = await server.start();
  return { server, port };
}

describe('HttpServer', () => {
  it('serves /metrics with the registry content type', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.heldPackets.set(7);
    const { port } = await started({ metrics });
    const r = await get(port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toBe(metrics.contentType);
    expect(r.body).toMatch(/^zhuge_held_packets 7$/m);
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('serves /status as JSON from the provider (async providers too)', async () => {
    let calls = 0;
    const { port } = await started({
      status: async () => {
        calls++;
        return { ...SNAP, heldPackets: calls };
      },
    });
    const a = await get(port, '/status');
    const b = await get(port, '/status?x=1');
    expect(a.status).toBe(200);
    expect(a.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(a.body)).toEqual({ ...SNAP, heldPackets: 1 });
    expect((JSON.parse(b.body) as StatusSnapshot).heldPackets).toBe(2);
  });

  it('serves /healthz: 200 ok, 503 with the reason when unhealthy', async () => {
    let healthy = true;
    const { port } = await started({ health: () => (healthy ? { healthy } : { healthy, reason: 'event loop stalled 450 ms' }) });
    expect(await get(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    healthy = false;
    expect(await get(port, '/healthz')).toMatchObject({ status: 503, body: 'unhealthy: event loop stalled 450 ms\n' });
  });

  it('404 for other paths, 405 for other methods, HEAD has no body', async () => {
    const { port } = await started();
    expect((await get(port, '/nope')).status).toBe(404);
    const post = await get(port, '/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    const head = await get(port, '/status', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(10);
  });

  it('a throwing provider gives a 500 with a JSON error and the server keeps serving', async () => {
    const { port } = await started({
      status: () => {
        throw new Error('flow table busy');
      },
    });
    const r = await get(port, '/status');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ error: 'flow table busy' });
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  it('EADDRINUSE: start() rejects with a message naming the address', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const s = new HttpServer({ listen: `127.0.0.1:${port}`, metrics: createMetrics({ processMetrics: false }), status: () => SNAP });
      await expect(s.start()).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: address already in use`);
      await s.stop(); // harmless after a failed start
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('rejects a malformed listen address, and a second start()', async () => {
    const s = new HttpServer({ listen: 'nonsense', metrics: createMetrics({ processMetrics: false }), status: () => SNAP });
    await expect(s.start()).rejects.toThrow('metrics.listen: not a HOST:PORT address: "nonsense"');
    const { server } = await started();
    await expect(server.start()).rejects.toThrow('already started');
  });

  it('stop() closes the port (a new server can bind it) and is idempotent', async () => {
    const { server, port } = await started();
    expect(server.address?.port).toBe(port);
    await server.stop();
    await server.stop();
    expect(server.address).toBeUndefined();
    await expect(get(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    const again = new HttpServer({ listen: `127.0.0.1:${port}`, metrics: createMetrics({ processMetrics: false }), status: () => SNAP });
    servers.push(again);
    await expect(again.start()).resolves.toEqual({ address: '127.0.0.1', port });
  });

  it('bindErrorMessage wording per code', () => {
    const e = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`listen ${code}`), { code });
    expect(bindErrorMessage('10.9.9.9:9469', e('EADDRNOTAVAIL'))).toBe('cannot listen on 10.9.9.9:9469: no local interface has this address (check metrics.listen)');
    expect(bindErrorMessage('0.0.0.0:80', e('EACCES'))).toMatch(/permission denied/);
    expect(bindErrorMessage('x:1', e('EWHATEVER'))).toBe('cannot listen on x:1: listen EWHATEVER');
  });
});
