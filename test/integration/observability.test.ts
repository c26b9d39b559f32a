import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodePng } from '../../src/shared/png.js';
import { dashboardExpressions, exportedFamilies, metricNamesInPromql } from '../fixtures/promql.js';
import { ROOT, runCli, startCli, tempDir, testPort, waitFor } from '../helpers.js';

/** `# TYPE name type` lines of an exposition. */
function types(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Every sample of `name`: its labels and value. */
function samples(exposition: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    out.push({ labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!])), value: Number(m[3]) });
  }
  return out;
}

/** The value of the first sample of `name` whose labels include `labels`. */
function sample(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return samples(exposition, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function get(url: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
}

const COORDINATOR_METRICS: Record<string, string> = {
  trainer_step: 'gauge', trainer_epoch: 'gauge', trainer_generator_loss: 'gauge', trainer_discriminator_loss: 'gauge',
  trainer_discriminator_real_output: 'gauge', trainer_discriminator_fake_output: 'gauge', trainer_images_processed_total: 'counter',
  trainer_images_per_second: 'gauge', trainer_step_duration_seconds: 'histogram', trainer_workers_connected: 'gauge',
  trainer_worker_failures_total: 'counter', trainer_replica_hash_mismatches_total: 'counter', trainer_checkpoints_written_total: 'counter', trainer_bad_steps_total: 'counter',
  trainer_samples_written_total: 'counter', trainer_dropped_frames_total: 'counter', trainer_info: 'gauge', process_cpu_seconds_total: 'counter',
};
const WORKER_METRICS: Record<string, string> = {
  trainer_worker_step: 'gauge', trainer_worker_compute_seconds: 'histogram', trainer_worker_allreduce_seconds: 'histogram',
  trainer_worker_apply_seconds: 'histogram', trainer_worker_data_wait_seconds: 'histogram', trainer_worker_peer_wait_seconds: 'histogram',
  trainer_allreduce_sent_bytes_total: 'counter', trainer_allreduce_received_bytes_total: 'counter', trainer_allreduce_shared_memory_bytes_total: 'counter', trainer_tfjs_tensors: 'gauge', trainer_worker_dropped_frames_total: 'counter',
  trainer_tfjs_bytes: 'gauge', trainer_worker_info: 'gauge', process_resident_memory_bytes: 'gauge',
};

test('a 2-worker run exports moving metrics, health, samples and a timeline; the dashboard only uses exported metrics; generate draws from the saved model', async () => {
  const out = tempDir('obs');
  const timeline = path.join(out, 'trace.json');
  const port = testPort();
  const [cm, w0, w1] = [testPort(), testPort(), testPort()];
  const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--metrics-port', String(cm), '--out', out,
    '--log-format', 'json', '--limit', '1024', '--batch-size', '16', '--steps', '60', '--sample-every', '10', '--timeline', timeline, '--backend', 'wasm']);
  const workers = [w0, w1].map((mp) => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1',
    '--metrics-port', String(mp), '--log-format', 'json', '--backend', 'wasm']));
  const killAll = (): void => { for (const p of [coordinator, ...workers]) p.child.kill('SIGKILL'); };
  const timer = setTimeout(killAll, 150_000);
  try {
    let coordinatorText = '';
    const poll = setInterval(() => { void get(`http://127.0.0.1:${cm}/metrics`).then((r) => { coordinatorText = r.body.toString(); }, () => undefined); }, 200);
    try {
      await waitFor(() => (sample(coordinatorText, 'trainer_step') ?? 0) >= 3, 90_000, 'step 3 on the coordinator');
    } finally {
      clearInterval(poll);
    }
    const firstStep = sample(coordinatorText, 'trainer_step')!;
    const firstImages = sample(coordinatorText, 'trainer_images_processed_total')!;
    const workerTexts = [await get(`http://127.0.0.1:${w0}/metrics`), await get(`http://127.0.0.1:${w1}/metrics`)].map((r) => r.body.toString());

    // Names, types and labels.
    const ct = types(coordinatorText);
    for (const [name, type] of Object.entries(COORDINATOR_METRICS)) assert.equal(ct.get(name), type, `coordinator exports ${name} as a ${type}`);
    assert.equal(sample(coordinatorText, 'trainer_info', { backend: 'wasm', arch: 'mlp', allreduce: 'auto', compression: 'none', world_size: '2' }), 1, 'trainer_info carries the run');
    assert.equal(sample(coordinatorText, 'trainer_workers_connected'), 2);
    // Ranks are given in registration order, so either port may hold either rank; across the two workers they must be 0 and 1.
    const ranks = workerTexts.map((text, i) => {
      const info = samples(text, 'trainer_worker_info');
      assert.equal(info.length, 1, `worker ${i} exports one trainer_worker_info series`);
      assert.equal(info[0]!.value, 1);
      assert.equal(info[0]!.labels.backend, 'wasm');
      return info[0]!.labels.rank;
    });
    assert.deepEqual([...ranks].sort(), ['0', '1'], `the two workers carry ranks 0 and 1, got ${ranks.join(', ')}`);
    for (const [i, text] of workerTexts.entries()) {
      const wt = types(text);
      for (const [name, type] of Object.entries(WORKER_METRICS)) assert.equal(wt.get(name), type, `worker exports ${name} as a ${type}`);
      const r = ranks[i]!;
      assert.ok((sample(text, 'trainer_worker_compute_seconds_count', { rank: r }) ?? 0) >= 1, 'compute histogram observed');
      // Two workers on one host all-reduce through shared memory (auto): no gradient bytes on the links, the segment's counted.
      assert.ok((sample(text, 'trainer_allreduce_shared_memory_bytes_total', { rank: r }) ?? 0) > 0, 'shared-memory all-reduce bytes counted');
      assert.ok((sample(text, 'trainer_tfjs_tensors', { rank: r }) ?? 0) > 0, 'tfjs tensors reported');
    }

    // Health while training, and the latest sample once the first grid exists.
    const health = await get(`http://127.0.0.1:${cm}/healthz`);
    assert.equal(health.status, 200, health.body.toString());
    assert.equal((JSON.parse(health.body.toString()) as { status: string }).status, 'ok');
    assert.equal((await get(`http://127.0.0.1:${w0}/healthz`)).status, 200);
    await waitFor(() => existsSync(path.join(out, 'samples', 'step-0000010.png')), 60_000, 'the step-10 sample grid');
    const latest = await get(`http://127.0.0.1:${cm}/samples/latest.png`);
    assert.equal(latest.status, 200);
    assert.equal(latest.type, 'image/png');
    assert.deepEqual(decodePng(latest.body), { width: 484, height: 484 });

    // Every metric the dashboard queries is exported by a live process (or is Prometheus's own `up`).
    const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy', 'grafana', 'dashboard.json'), 'utf8')) as unknown;
    const exported = new Set([...exportedFamilies(coordinatorText), ...exportedFamilies(workerTexts[0]!), 'up']);
    const expressions = dashboardExpressions(dashboard);
    assert.ok(expressions.length >= 10, 'the dashboard has queries');
    for (const expr of expressions) {
      for (const name of metricNamesInPromql(expr)) assert.ok(exported.has(name), `dashboard query ${JSON.stringify(expr)} uses ${name}, which no process exports`);
    }

    // Values move.
    const code = await coordinator.exited;
    assert.equal(code, 0, coordinator.output().slice(-3000));
    assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
    const lastLog = coordinator.output();
    assert.ok(firstStep < 60 && firstImages > 0, 'scraped mid-run');
    assert.match(lastLog, /"msg":"sample grid at step 50/);

    // The timeline: JSON with every phase for both ranks (the shared-memory all-reduce, one barrier, is one span).
    const trace = JSON.parse(readFileSync(timeline, 'utf8')) as { traceEvents: Array<{ ph: string; tid: number; cat?: string; dur?: number }> };
    for (const rank of [0, 1]) {
      const cats = new Set(trace.traceEvents.filter((e) => e.ph === 'X' && e.tid === rank).map((e) => e.cat));
      for (const phase of ['forward/backward', 'all-reduce', 'apply']) assert.ok(cats.has(phase), `rank ${rank} has ${phase} spans`);
    }
    assert.ok(trace.traceEvents.some((e) => e.ph === 'M' && e.tid === 1), 'rows are named');

    // generate: a PNG of the requested size from the saved generator, and the run's own final grid for its seed.
    const png = path.join(out, 'gen.png');
    const g = await runCli(['generate', '--model', path.join(out, 'generator'), '--count', '10', '--out', png, '--backend', 'wasm'], 60_000);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(decodePng(readFileSync(png)), { width: 4 * 60 + 4, height: 3 * 60 + 4 }, '10 images in 4 columns, 3 rows of 56 px with 2 px gaps');
    const final = path.join(out, 'again.png');
    assert.equal((await runCli(['generate', '--model', path.join(out, 'generator'), '--out', final, '--seed', '42', '--backend', 'wasm'], 60_000)).code, 0);
    assert.deepEqual(readFileSync(final), readFileSync(path.join(out, 'samples', 'final.png')), 'generate with the run\'s seed reproduces final.png');
  } finally {
    clearTimeout(timer);
    killAll();
  }
});
