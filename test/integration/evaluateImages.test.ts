import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { IMAGE_SIZE, loadTrainingSet } from '../../src/shared/data/dataset.js';
import { epochPermutation, gatherExamples } from '../../src/shared/data/sharding.js';
import type { ImagesEvaluation } from '../../src/evaluate/evaluate.js';
import { idxBytes } from '../fixtures/idx.js';
import { npyBytes } from '../fixtures/npy.js';
import { runCli, tempDir } from '../helpers.js';

const COUNT = 2000;
const SEED = 42;

test('evaluate --images on the real-floor images (IDX and float .npy) gives the real-floor row\'s numbers', async () => {
  // The floor row scores the first COUNT training images of the seed's epoch-0 order: write exactly those.
  const train = loadTrainingSet();
  const floorImages = gatherExamples(train.images, IMAGE_SIZE, epochPermutation(train.count, SEED, 0), 0, COUNT);
  const dir = tempDir('evaluate-images');
  const idx = path.join(dir, 'floor.idx');
  writeFileSync(idx, idxBytes([COUNT, 28, 28], (i) => floorImages[i]!));
  const npy = path.join(dir, 'floor.npy');
  writeFileSync(npy, npyBytes([COUNT, 28, 28], '<f4', Array.from(floorImages, (b) => b / 255)));

  const results: ImagesEvaluation[] = [];
  for (const file of [idx, npy]) {
    const r = await runCli(['evaluate', '--images', file, '--seed', String(SEED), '--json', '--backend', 'wasm', '--log-format', 'json'], 300_000);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    results.push(JSON.parse(r.stdout) as ImagesEvaluation);
  }
  const [fromIdx, fromNpy] = results as [ImagesEvaluation, ImagesEvaluation];
  assert.equal(fromIdx.count, COUNT);
  assert.equal(fromIdx.format, 'idx ubyte [0, 255]');
  assert.equal(fromNpy.format, 'npy f4 [0, 1]');
  // Bytes scaled the same way as the floor's: the same numbers, exactly.
  assert.deepEqual(fromIdx.generated, fromIdx.realTraining);
  // Through float32 [0, 1] the pixels differ in the last bits: the same numbers to 5 digits.
  for (const k of ['fid', 'fidLogits', 'inceptionScore'] as const) {
    assert.ok(Math.abs(fromNpy.generated[k] - fromIdx.realTraining[k]) <= 1e-5 * Math.max(1, fromIdx.realTraining[k]), `${k}: ${fromNpy.generated[k]} vs ${fromIdx.realTraining[k]}`);
  }
  assert.deepEqual(fromNpy.generated.coverage.fractions, fromIdx.realTraining.coverage.fractions);
  assert.equal(fromIdx.generated.coverage.digitsAtLeast5Percent, 10);

  const table = await runCli(['evaluate', '--images', idx, '--backend', 'wasm'], 300_000);
  assert.equal(table.code, 0, table.stderr.slice(-2000));
  assert.match(table.stdout, /^images +\d+\.\d{3}/m);
  assert.match(table.stdout, /^real training \(floor\) +\d+\.\d{3}/m);
});

test('evaluate --images refuses a file of the wrong shape with one line and exit code 2; --model and --images together are refused', async () => {
  const file = path.join(tempDir('evaluate-images'), 'small.npy');
  writeFileSync(file, npyBytes([10, 27, 27], '<f4', new Float32Array(10 * 27 * 27)));
  const r = await runCli(['evaluate', '--images', file, '--backend', 'wasm', '--log-format', 'human'], 120_000);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /small\.npy: shape \(10, 27, 27\) is not N ≥ 2 images of 28×28/);
  assert.equal(r.stdout, '');

  const both = await runCli(['evaluate', '--images', file, '--model', 'x', '--backend', 'wasm'], 120_000);
  assert.equal(both.code, 2, both.stderr);
  assert.match(both.stderr, /exactly one of --model DIR or --images FILE/);
});
