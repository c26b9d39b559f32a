import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_POINTS, runCharts, throughputChart } from '../../src/plots/runCharts.js';

const steps = Array.from({ length: 800 }, (_, i) => ({ step: i + 1, images: 64 * (i + 1), seconds: 5 + 0.5 * i, dLoss: 1 + (i % 2), gLoss: 2 }));

test('a run gets losses and throughput charts; FID only when evaluations ran; long runs are thinned to windows', () => {
  const without = runCharts({ steps, globalBatchSize: 64, evaluations: [] });
  assert.deepEqual(Object.keys(without), ['losses', 'throughput']);
  const losses = without.losses!;
  assert.deepEqual(losses.series.map((s) => s.name), ['discriminator loss', 'generator loss']);
  assert.ok(losses.series[0]!.points.length <= MAX_POINTS);
  // Windows of two steps (800 steps, at most 400 points) average the alternating 1, 2 to 1.5.
  for (const [, y] of losses.series[0]!.points) assert.equal(y, 1.5);

  const withEval = runCharts({ steps, globalBatchSize: 64, evaluations: [{ step: 500, fid: 90, fidLogits: 70 }, { step: 800, fid: 40, fidLogits: 30 }] });
  assert.deepEqual(Object.keys(withEval), ['losses', 'throughput', 'fid']);
  assert.deepEqual(withEval.fid!.series.map((s) => [s.name, s.points]), [
    ['MNIST-FID (features)', [[32_000, 90], [51_200, 40]]],
    ['FID (logits)', [[32_000, 70], [51_200, 30]]],
  ]);
});

test('throughput is images over training seconds between windows, leaving out the warm-up step', () => {
  // Step 1 took 5 s (warm-up), every later one 0.5 s for 64 images: 128 img/s throughout.
  const chart = throughputChart({ steps, globalBatchSize: 64, evaluations: [] });
  const pts = chart.series[0]!.points;
  assert.ok(pts.length > 10);
  for (const [, y] of pts) assert.ok(Math.abs(y - 128) < 1e-9, String(y));
});
