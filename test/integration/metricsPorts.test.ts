import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { WORKER_METRICS_PORTS } from '../../src/cli/options.js';
import type { SdTargetGroup } from '../../src/coordinator/serviceDiscovery.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startObservabilityServer } from '../../src/shared/transport/httpServer.js';
import { waitUntil } from '../fixtures/prometheusServer.js';
import { jsonLines, runCli, startCli, tempDir, testPort } from '../helpers.js';

const FIRST = WORKER_METRICS_PORTS.first;
const LAST = FIRST + WORKER_METRICS_PORTS.count - 1;

/** Holds `port` on 127.0.0.1; undefined if something else already does. */
async function hold(port: number): Promise<Server | undefined> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** `n` consecutive ports held open, from a random base (tries other bases while some are taken). */
async function holdRun(n: number): Promise<{ base: number; servers: Server[] }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 30000 + Math.floor(Math.random() * 20000);
    const servers: Server[] = [];
    for (let i = 0; i < n; i++) {
      const s = await hold(base + i);
      if (!s) break;
      servers.push(s);
    }
    if (servers.length === n) return { base, servers };
    for (const s of servers) s.close();
  }
  throw new Error(`found no ${n} consecutive free ports`);
}

const closeAll = (servers: Server[]): Promise<void[]> => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));

test('a metrics server given a range takes the first free port of it, and fails with one clear line when all are taken', async () => {
  const common = { host: '127.0.0.1', registry: new Registry(), health: () => ({ ok: true, reason: '' }), logger: silentLogger };
  const { base, servers } = await holdRun(2);
  try {
    const moved = await startObservabilityServer({ ...common, port: base, lastPort: base + 2 });
    assert.equal(moved.port, base + 2, 'the two taken ports are skipped');
    await moved.close();
    await assert.rejects(startObservabilityServer({ ...common, port: base, lastPort: base + 1 }),
      new RegExp(`^ConfigError: cannot serve metrics on 127\\.0\\.0\\.1: ports ${base}-${base + 1} are all taken \\(choose a free --metrics-port`));
    // A single port (one the user chose) is not moved off.
    await assert.rejects(startObservabilityServer({ ...common, port: base }), new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${base}: .*EADDRINUSE`));
  } finally {
    await closeAll(servers);
  }
});

test('a worker\'s metrics port from TRAINER_METRICS_PORT is the user\'s choice: taken, it is an error, not moved off', async () => {
  const { base, servers } = await holdRun(1);
  try {
    const r = await runCli(['worker', '--coordinator', 'tcp://127.0.0.1:1', '--bind-host', '127.0.0.1', '--backend', 'cpu'], 30_000, { TRAINER_METRICS_PORT: String(base) });
    assert.equal(r.code, 2, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('trainer: '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${base}: .*EADDRINUSE`));
  } finally {
    await closeAll(servers);
  }
});

test('3 workers started by hand on one host with no port flags all train to the end, each on its own metrics port, which the coordinator lists in /sd', { timeout: 240_000 }, async () => {
  const out = tempDir('ports');
  const port = testPort();
  const coordinatorMetrics = testPort();
  const coordinator = startCli(['coordinator', '--workers', '3', '--bind', '127.0.0.1', '--port', String(port), '--metrics-port', String(coordinatorMetrics),
    '--steps', '12', '--batch-size', '8', '--limit', '1024', '--sample-every', '0', '--checkpoint-every', '0', '--backend', 'wasm', '--log-format', 'json', '--out', out]);
  const workers = [0, 1, 2].map(() => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1',
    '--backend', 'wasm', '--log-format', 'json'], { defaultPorts: true }));
  const all = [coordinator, ...workers];
  const tails = (): string => all.map((p, i) => `--- ${i === 0 ? 'coordinator' : `worker ${i}`}:\n${p.output().slice(-1500)}`).join('\n');
  const timer = setTimeout(() => { for (const p of all) p.child.kill('SIGKILL'); }, 220_000);
  try {
    // While they train, the coordinator's /sd lists each at the address it reported.
    let listed: string[] = [];
    await waitUntil(async () => {
      if (all.some((p) => p.child.exitCode !== null)) return true; // fails below, with the logs
      const groups = await (await fetch(`http://127.0.0.1:${coordinatorMetrics}/sd`, { signal: AbortSignal.timeout(2000) })).json() as SdTargetGroup[];
      listed = groups.filter((g) => g.labels.role === 'worker').flatMap((g) => g.targets);
      return listed.length === 3;
    }, 200_000, 'the coordinator to list 3 workers in /sd');
    assert.equal(listed.length, 3, `/sd listed ${JSON.stringify(listed)}\n${tails()}`);
    const codes = await Promise.all(all.map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0, 0], tails());

    const ports = workers.map((w) => {
      const rec = jsonLines(w.output()).find((l) => typeof l.metricsPort === 'number');
      assert.ok(rec, `each worker logs its metrics port\n${tails()}`);
      const p = Number(rec.metricsPort);
      // Off the first port exactly when it said that port was taken.
      assert.equal(String(rec.msg).includes(`(port ${FIRST} was taken)`), p !== FIRST, String(rec.msg));
      return p;
    });
    assert.equal(new Set(ports).size, 3, `distinct ports: ${ports.join(', ')}`);
    for (const p of ports) assert.ok(p >= FIRST && p <= LAST, `port ${p} in ${FIRST}-${LAST}`);
    assert.deepEqual([...listed].sort(), ports.map((p) => `127.0.0.1:${p}`).sort(), 'the coordinator lists each worker at its port');
  } finally {
    clearTimeout(timer);
    for (const p of all) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});
