import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { SdTargetGroup } from '../../src/coordinator/serviceDiscovery.js';
import { freePorts, startPrometheus, waitUntil } from '../fixtures/prometheusServer.js';
import type { PrometheusServer, PromTarget } from '../fixtures/prometheusServer.js';
import { jsonLines, startCli, tempDir } from '../helpers.js';

// A real Prometheus (Debian's `prometheus` package; npm test installs it: scripts/testSetup.sh)
// that knows nothing but the coordinator's /sd. Fails, never skips, when it is missing.

type Proc = ReturnType<typeof startCli>;
const running = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;

test('Prometheus finds a coordinator and 3 hand-started workers through /sd (all up), and a killed worker leaves /sd and the targets', { timeout: 300_000 }, async (t) => {
  const [controlPort, coordMetrics] = (await freePorts(2)) as [number, number];
  const sdUrl = `http://127.0.0.1:${coordMetrics}/sd`;
  const out = tempDir('prometheus-sd');
  let prom: PrometheusServer | undefined;
  const procs: Array<[string, Proc]> = [];
  const tails = (): string => procs.map(([name, p]) => `--- ${name} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'}):\n${p.output().slice(-1500)}`).join('\n');
  const sd = async (): Promise<SdTargetGroup[]> => (await fetch(sdUrl, { signal: AbortSignal.timeout(2000) })).json() as Promise<SdTargetGroup[]>;
  try {
    prom = await startPrometheus({ httpSd: { trainer: sdUrl }, scrapeIntervalSeconds: 1 });
    const p = prom;
    // Elastic (--min-workers 2), so a lost worker leaves and the run goes on; steps enough that
    // it is still training when the checks are done (it is stopped with SIGINT).
    const coordinator = startCli(['coordinator', '--workers', '3', '--min-workers', '2', '--bind', '127.0.0.1', '--port', String(controlPort),
      '--metrics-port', String(coordMetrics), '--steps', '100000', '--batch-size', '8', '--limit', '1024', '--sample-every', '0', '--checkpoint-every', '0',
      '--heartbeat-interval', '0.5', '--worker-timeout', '3', '--timeout', '30', '--backend', 'wasm', '--log-format', 'json', '--out', out]);
    procs.push(['coordinator', coordinator]);
    const workers = [0, 1, 2].map((i) => {
      const w = startCli(['worker', '--coordinator', `tcp://127.0.0.1:${controlPort}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1',
        '--backend', 'wasm', '--log-format', 'json'], { defaultPorts: true });
      procs.push([`worker ${i}`, w]);
      return w;
    });

    // Every worker's address, from its own log; and when the coordinator registered it (it is listed in /sd from then on).
    const joined = new Map<string, number>();
    const addressOf = (w: Proc): string | undefined => {
      const port = jsonLines(w.output()).find((l) => typeof l.metricsPort === 'number')?.metricsPort;
      return port === undefined ? undefined : `127.0.0.1:${String(port)}`;
    };
    const noteJoins = (): void => {
      const registered = jsonLines(coordinator.output()).filter((l) => / registered \(backend /.test(String(l.msg)));
      for (const w of workers) {
        const id = jsonLines(w.output()).find((l) => /^registered as worker /.test(String(l.msg)))?.worker;
        const address = addressOf(w);
        const rec = registered.find((l) => l.worker === id);
        if (address && rec && !joined.has(address)) joined.set(address, Date.parse(String(rec.time)));
      }
    };

    // All 4 targets up in Prometheus, the workers with their ranks.
    let last: PromTarget[] = [];
    await waitUntil(async () => {
      if (!procs.every(([, pr]) => running(pr))) return true; // fails below, with the logs
      noteJoins();
      last = await p.targets();
      return last.length === 4 && last.every((x) => x.health === 'up') && last.filter((x) => x.labels.role === 'worker').every((x) => x.labels.rank !== undefined);
    }, 120_000, 'Prometheus to report the coordinator and 3 workers up');
    const context = (): string => `targets: ${JSON.stringify(last.map((x) => [x.instance, x.health, x.labels]))}\n${tails()}`;
    assert.ok(procs.every(([, pr]) => running(pr)), `every process still runs\n${context()}`);
    const addresses = workers.map(addressOf);
    assert.ok(addresses.every((a) => a !== undefined) && new Set(addresses).size === 3, `3 distinct worker metrics addresses: ${addresses.join(', ')}`);
    assert.deepEqual(last.map((x) => x.instance).sort(), [`127.0.0.1:${coordMetrics}`, ...addresses].sort(), context());
    assert.deepEqual(last.map((x) => [x.labels.role, x.labels.rank ?? '-', x.labels.host !== undefined]).sort(),
      [['coordinator', '-', true], ['worker', '0', true], ['worker', '1', true], ['worker', '2', true]], context());
    const up = await p.query('up == 1');
    assert.equal(up.length, 4, `up == 1 for all 4 targets: ${JSON.stringify(up)}`);
    // honor_labels: a worker's series carry its own rank label, not renamed to exported_rank.
    const steps = await p.query('trainer_worker_step');
    assert.ok(steps.length > 0 && steps.every((s) => s.metric.rank !== undefined && s.metric.exported_rank === undefined), JSON.stringify(steps));

    // Seconds from joining (registered by the coordinator) to the first scrape that found the worker up.
    noteJoins();
    const series = await p.samples('up{role="worker"}[10m]');
    const latencies = addresses.map((a) => {
      const firstUp = series.filter((s) => s.metric.instance === a).flatMap((s) => s.values).filter(([, v]) => v === '1').map(([ts]) => ts).sort((x, y) => x - y)[0];
      assert.ok(firstUp !== undefined && joined.has(a!), `${a}: joined and scraped up`);
      return firstUp - joined.get(a!)! / 1000;
    });
    t.diagnostic(`seconds from a worker joining to its target up in Prometheus (scrape and SD refresh 1 s): ${latencies.map((s) => s.toFixed(1)).join(', ')}`);

    // Kill one worker: it leaves /sd once the coordinator takes it for lost, then Prometheus's targets.
    const [victim] = workers;
    const victimAddress = addresses[0]!;
    victim!.child.kill('SIGKILL');
    await waitUntil(async () => !(await sd()).some((g) => g.targets.includes(victimAddress)), 60_000, `the coordinator to drop ${victimAddress} from /sd`);
    const after = await sd();
    assert.deepEqual(after.map((g) => g.targets[0]).sort(), [`127.0.0.1:${coordMetrics}`, addresses[1], addresses[2]].sort(), JSON.stringify(after));
    await waitUntil(async () => !(await p.targets()).some((x) => x.instance === victimAddress), 30_000, `Prometheus to drop the target ${victimAddress}`);
    assert.ok(running(coordinator) && running(workers[1]!) && running(workers[2]!), `the run goes on with 2 workers\n${tails()}`);

    coordinator.child.kill('SIGINT');
    await waitUntil(async () => procs.every(([, pr]) => !running(pr)), 60_000, 'the coordinator and workers to stop after SIGINT');
  } finally {
    for (const [, pr] of procs) if (running(pr)) pr.child.kill('SIGKILL');
    await Promise.all(procs.map(([, pr]) => pr.exited));
    await prom?.stop();
    rmSync(out, { recursive: true, force: true });
  }
});
