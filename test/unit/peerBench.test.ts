import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerSettings } from '../../scripts/peerSettings.js';
import { runImagesPerSecond } from '../../scripts/runThroughput.js';

test('bench:peer settings: defaults, per-architecture steps, and one-line errors for values it cannot use', () => {
  const d = peerSettings({});
  assert.deepEqual(d.archs, ['mlp', 'dcgan']);
  assert.deepEqual(d.backends, ['auto']);
  assert.equal(d.batch, 64);
  assert.equal(d.core, 1);
  assert.equal(d.python, '/usr/bin/python3');
  assert.ok(d.steps.mlp > d.steps.dcgan, 'the MLP steps ten times faster: it gets more steps');

  const s = peerSettings({ BENCH_BACKENDS: 'wasm, cpu', BENCH_ARCHS: 'dcgan', BENCH_STEPS: '7', BENCH_STEPS_DCGAN: '3', BENCH_WARMUP: '2', BENCH_CORE: '0', PEER_PYTHON: '/opt/py' });
  assert.deepEqual(s.backends, ['wasm', 'cpu']);
  assert.deepEqual(s.archs, ['dcgan']);
  assert.deepEqual(s.steps, { mlp: 7, dcgan: 3 });
  assert.deepEqual(s.warmup, { mlp: 2, dcgan: 2 });
  assert.equal(s.core, 0);
  assert.equal(s.python, '/opt/py');

  assert.throws(() => peerSettings({ BENCH_BACKENDS: 'wasm,openblas' }), /BENCH_BACKENDS: 'openblas' is not one of auto, /);
  assert.throws(() => peerSettings({ BENCH_BACKENDS: 'wasm,wasm' }), /names one more than once/);
  assert.throws(() => peerSettings({ BENCH_ARCHS: ',' }), /BENCH_ARCHS is empty/);
  assert.throws(() => peerSettings({ BENCH_STEPS: '0' }), /BENCH_STEPS must be an integer of at least 1, got '0'/);
  assert.throws(() => peerSettings({ BENCH_WARMUP_MLP: '0' }), /BENCH_WARMUP_MLP must be an integer of at least 1/);
  assert.throws(() => peerSettings({ BENCH_BATCH: '6.5' }), /BENCH_BATCH must be an integer/);
});

const step = (n: number, imagesPerSecond: number, component = 'coordinator'): Record<string, unknown> => ({ component, msg: 'step', step: n, imagesPerSecond });

test("a run's throughput counts the steps after the warm-up only, each from its own record", () => {
  // Batch 64: the slow first two steps (1 s each) are warm-up; steps 3-5 take 0.1, 0.2 and 0.1 s.
  const records = [step(1, 64), step(2, 64), step(3, 640), step(4, 320), step(5, 640), { component: 'coordinator', msg: 'done' }, step(4, 1, 'worker')];
  assert.ok(Math.abs(runImagesPerSecond(records, 64, 2, 3) - (3 * 64) / 0.4) < 1e-9);
  // With step 4 missing (the run was not logged every step) there is no honest figure.
  assert.throws(() => runImagesPerSecond(records.filter((r) => r.step !== 4), 64, 2, 3), /no step record for step 4/);
  assert.throws(() => runImagesPerSecond([step(1, 0)], 64, 0, 1), /positive rate/);
});
