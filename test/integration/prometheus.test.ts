import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { startCli, tempDir } from '../helpers.js';
import { freePort, freePorts, startPrometheus, waitUntil } from '../fixtures/prometheusServer.js';
import type { PrometheusServer, PromTarget } from '../fixtures/prometheusServer.js';

// A real Prometheus (Debian's `prometheus` package; npm test installs it: scripts/testSetup.sh). These tests fail,
// never skip, when it is missing.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('the Prometheus fixture scrapes itself', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const prom = await startPrometheus({ targets: { self: [`127.0.0.1:${port}`] }, port });
  try {
    assert.equal(prom.url, `http://127.0.0.1:${port}`);
    // The first scrape comes ~5-6 s after start (2.x applies discovered targets every 5 s).
    await waitUntil(async () => (await prom.query('up{job="self"} == 1')).length === 1, 20_000, 'Prometheus to scrape itself (up == 1)');
    const targets = await prom.targets();
    assert.deepEqual(targets.map((t) => [t.job, t.instance, t.health]), [['self', `127.0.0.1:${port}`, 'up']]);
  } finally {
    await prom.stop();
  }
});

type Proc = ReturnType<typeof startCli>;

function running(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

function tails(procs: Array<[string, Proc]>): string {
  return procs.map(([name, p]) => `--- ${name} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'}):\n${p.output().slice(-2000)}`).join('\n');
}

test('Prometheus scrapes a training coordinator and 2 workers: trainer_step rises, every target is up', { timeout: 120_000 }, async (t) => {
  const [controlPort, coordMetrics, workerMetrics1, workerMetrics2] = (await freePorts(4)) as [number, number, number, number];
  const coordTarget = `127.0.0.1:${coordMetrics}`;
  const workerTargets = [`127.0.0.1:${workerMetrics1}`, `127.0.0.1:${workerMetrics2}`];
  const out = tempDir('prometheus');
  let prom: PrometheusServer | undefined;
  const procs: Array<[string, Proc]> = [];
  try {
    prom = await startPrometheus({ targets: { 'trainer-coordinator': [coordTarget], 'trainer-workers': workerTargets } });
    const p = prom;
    // Wait until Prometheus has taken the targets on (about 5 s; they are down until the trainer starts),
    // so that it scrapes the run from its first second.
    await waitUntil(async () => (await p.targets()).length === 3, 20_000, 'Prometheus to list the 3 scrape targets');

    const coordinator = startCli(['coordinator', '--workers', '2', '--bind', '127.0.0.1', '--port', String(controlPort), '--metrics-port', String(coordMetrics),
      '--steps', '150', '--batch-size', '16', '--limit', '2048', '--backend', 'wasm', '--log-format', 'json', '--out', out]);
    procs.push(['coordinator', coordinator]);
    const started = Date.now();
    for (const [i, metricsPort] of [workerMetrics1, workerMetrics2].entries()) {
      procs.push([`worker ${i + 1}`, startCli(['worker', '--coordinator', `tcp://127.0.0.1:${controlPort}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1',
        '--metrics-port', String(metricsPort), '--backend', 'wasm', '--log-format', 'json'])]);
    }

    // Poll Prometheus while the run goes on.
    const steps: number[] = [];         // distinct values of max(trainer_step), in the order seen
    const stepSeries = new Set<string>(); // which targets exposed trainer_step
    let allUp: PromTarget[] | undefined;
    let lastTargets: PromTarget[] = [];
    let lastQueryError = '';
    const expectedInstances = [coordTarget, ...workerTargets].sort();
    while (procs.every(([, pr]) => running(pr)) && !(allUp && steps.length >= 3)) {
      try {
        const samples = await p.query('trainer_step');
        for (const s of samples) stepSeries.add(`${s.metric.job}/${s.metric.instance}`);
        const values = samples.map((s) => Number(s.value[1])).filter(Number.isFinite);
        if (values.length > 0) {
          const max = Math.max(...values);
          if (steps.length === 0 || steps[steps.length - 1] !== max) steps.push(max);
        }
        lastTargets = await p.targets();
        if (!allUp && lastTargets.length === 3 && lastTargets.every((t) => t.health === 'up')
          && JSON.stringify(lastTargets.map((t) => t.instance).sort()) === JSON.stringify(expectedInstances)) {
          allUp = lastTargets;
          t.diagnostic(`all 3 targets up ${((Date.now() - started) / 1000).toFixed(1)} s after the trainer started`);
        }
      } catch (err) {
        lastQueryError = err instanceof Error ? err.message : String(err);
      }
      await sleep(250);
    }
    const context = () => `trainer_step values seen: [${steps.join(', ')}] from ${[...stepSeries].join(', ') || 'no series'}; `
      + `last targets: ${JSON.stringify(lastTargets)}${lastQueryError ? `; last API error: ${lastQueryError}` : ''}\n${tails(procs)}`;

    assert.ok(allUp, `all 3 targets (${expectedInstances.join(', ')}) up at once during the run; ${context()}`);
    assert.deepEqual(allUp.map((t) => t.job).sort(), ['trainer-coordinator', 'trainer-workers', 'trainer-workers']);
    assert.ok(steps.length >= 2, `trainer_step took at least two values during the run; ${context()}`);
    for (let i = 1; i < steps.length; i++) {
      assert.ok(steps[i]! > steps[i - 1]!, `trainer_step only rises; ${context()}`);
    }

    t.diagnostic(`trainer_step values seen: ${steps.join(', ')} (series: ${[...stepSeries].join(', ')})`);

    const codes = await Promise.all(procs.map(([, pr]) => pr.exited));
    t.diagnostic(`trainer exited ${((Date.now() - started) / 1000).toFixed(1)} s after it started`);
    assert.deepEqual(codes, [0, 0, 0], `coordinator and workers exit 0\n${tails(procs)}`);
    // Whatever Prometheus kept of the run never exceeds the run's length.
    const peak = await p.query('max(max_over_time(trainer_step[5m]))');
    const peakValue = Number(peak[0]?.value[1]);
    assert.ok(peakValue >= steps[steps.length - 1]! && peakValue <= 150, `max_over_time(trainer_step) = ${peakValue}; ${context()}`);
  } finally {
    for (const [, pr] of procs) if (running(pr)) pr.child.kill('SIGKILL');
    await Promise.all(procs.map(([, pr]) => pr.exited));
    await prom?.stop();
    rmSync(out, { recursive: true, force: true });
  }
});
