import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import type { Summary } from '../../src/coordinator/summary.js';
import { IMAGE_SIZE, loadTestSet, loadTrainingSet } from '../../src/shared/data/dataset.js';
import { CLASSES, CLASSIFIER_DIR, FEATURE_SIZE, classify, loadClassifier, scaleBytes } from '../../src/shared/eval/classifier.js';
import { initialWeights } from '../../src/shared/gan/architecture.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { selectBackend } from '../../src/shared/gan/backend.js';
import { buildModel, setFlatWeights } from '../../src/shared/gan/models.js';
import { tf } from '../../src/shared/gan/tf.js';
import { silentLogger } from '../../src/shared/logger.js';
import { fitGaussian } from '../../src/shared/eval/frechet.js';
import { generateImages, scoreImages } from '../../src/evaluate/evaluate.js';
import { Rng } from '../../src/shared/rng.js';
import { runCli, tempDir } from '../helpers.js';
import { accuracy } from '../../src/classifier/train.js';

before(async () => {
  await selectBackend('wasm', silentLogger);
});

test('the committed classifier matches its checksum and classifies a test subset at least 98.5% right; a damaged copy is refused', async () => {
  const model = await loadClassifier(tf);
  const acc = await accuracy(tf, model, loadTestSet(undefined, 2000));
  assert.ok(acc >= 0.985, `accuracy ${acc} on the first 2000 test images`);
  model.dispose();
  const copy = tempDir('classifier');
  cpSync(CLASSIFIER_DIR, copy, { recursive: true });
  const weights = readFileSync(path.join(copy, 'weights.bin'));
  weights[100] = weights[100]! ^ 1;
  writeFileSync(path.join(copy, 'weights.bin'), weights);
  await assert.rejects(loadClassifier(tf, copy), /weights\.bin: SHA-256 [0-9a-f]{64} does not match SHA256SUMS/);
});

test('MNIST-FID: real training images score low against the test set, higher with noise or with one digit only, far higher from an untrained generator', async () => {
  const model = await loadClassifier(tf);
  const test = loadTestSet(undefined, 3000);
  const ref = await classify(tf, model, scaleBytes(test.images));
  const reference = { features: fitGaussian(ref.features, ref.count, FEATURE_SIZE), logits: fitGaussian(ref.logits, ref.count, CLASSES) };
  const training = loadTrainingSet(undefined, 3000);
  const real = scaleBytes(training.images);
  const rng = new Rng(5);
  const fids: number[] = [];
  for (const sigma of [0, 0.25, 0.5, 1]) {
    const noisy = real.map((v) => Math.max(-1, Math.min(1, v + sigma * rng.normal())));
    fids.push((await scoreImages(tf, model, reference, noisy)).fid);
  }
  for (let i = 1; i < fids.length; i++) assert.ok(fids[i]! > fids[i - 1]!, `FID does not rise with noise: ${fids.join(', ')}`);

  // The scores see the images they are given: the classifier's digit counts follow the labels of the real set
  // (it is 98.5% right, so each fraction is within a few points of the label's)...
  const realScores = await scoreImages(tf, model, reference, real);
  const labelFractions = Array.from({ length: CLASSES }, (_, d) => training.labels.filter((l) => l === d).length / training.count);
  realScores.coverage.fractions.forEach((f, d) => assert.ok(Math.abs(f - labelFractions[d]!) < 0.02, `digit ${d}: classified ${f}, labelled ${labelFractions[d]}`));
  assert.equal(realScores.coverage.digitsAtLeast5Percent, 10);
  // ... and real images of a single digit, a collapsed "generator", score far from the balanced set.
  const ones = training.labels.reduce<number[]>((acc, l, i) => (l === 1 ? [...acc, i] : acc), []);
  const onlyOnes = new Float32Array(ones.length * IMAGE_SIZE);
  ones.forEach((img, j) => onlyOnes.set(real.subarray(img * IMAGE_SIZE, (img + 1) * IMAGE_SIZE), j * IMAGE_SIZE));
  const collapsed = await scoreImages(tf, model, reference, onlyOnes);
  assert.equal(collapsed.coverage.digitsAtLeast5Percent, 1);
  assert.ok(collapsed.fid > 10 * fids[0]!, `one digit only: ${collapsed.fid} vs the real floor ${fids[0]}`);
  assert.ok(collapsed.inceptionScore < realScores.inceptionScore / 3, `inception score: one digit ${collapsed.inceptionScore}, all ${realScores.inceptionScore}`);

  const spec = archSpecs('mlp', 100).generator;
  const untrained = buildModel(tf, spec);
  setFlatWeights(tf, untrained, spec, initialWeights(spec, 1));
  const ceiling = (await scoreImages(tf, model, reference, await generateImages(tf, untrained, 100, 3000, 1))).fid;
  assert.ok(ceiling > 10 * fids[0]!, `untrained ${ceiling} vs real floor ${fids[0]}`);
  untrained.dispose();
  model.dispose();
});

test('trainer evaluate --json scores a tiny trained model with every field; --eval-every and --keep-best record the best', async () => {
  const out = tempDir('evaluate');
  const run = await runCli(['coordinator', '--workers', '1', '--spawn', '--steps', '20', '--batch-size', '16', '--limit', '512', '--bind', '127.0.0.1', '--port', '0',
    '--out', out, '--log-format', 'json', '--backend', 'wasm', '--sample-every', '0', '--eval-every', '10', '--eval-count', '500', '--keep-best'], 240_000);
  assert.equal(run.code, 0, run.stderr.slice(-3000));
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
  const ev = summary.evaluation!;
  assert.deepEqual(ev.history.map((h) => h.step), [10, 20]);
  for (const h of ev.history) assert.ok(Number.isFinite(h.fid) && h.fid > 0 && h.evalSeconds > 0);
  assert.equal(ev.best!.fid, Math.min(...ev.history.map((h) => h.fid)));
  assert.ok(existsSync(path.join(out, 'generator-best', 'model.json')));

  // The scoring is what is tested here, not a backend: native's convolutions run the classifier several times faster than wasm's.
  const r = await runCli(['evaluate', '--model', path.join(out, 'generator'), '--count', '500', '--json', '--backend', 'native', '--log-format', 'json'], 240_000);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const e = JSON.parse(r.stdout) as Record<string, unknown> & { generated: Record<string, unknown>; realTraining: { fid: number }; untrained: { fid: number } };
  assert.equal(e.count, 500);
  assert.equal(e.featureSize, FEATURE_SIZE);
  assert.equal(e.arch, 'mlp');
  for (const set of [e.generated, e.realTraining, e.untrained] as Array<Record<string, unknown>>) {
    for (const k of ['fid', 'fidLogits', 'inceptionScore']) assert.ok(Number.isFinite(set[k]), `${k}: ${String(set[k])}`);
    const c = set.coverage as { fractions: number[]; klFromUniform: number; digitsAtLeast5Percent: number; meanConfidence: number };
    assert.equal(c.fractions.length, 10);
    assert.ok(Math.abs(c.fractions.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(Number.isFinite(c.klFromUniform) && Number.isInteger(c.digitsAtLeast5Percent) && c.meanConfidence > 0);
  }
  assert.ok(e.realTraining.fid < e.untrained.fid, 'the real-data floor is below the untrained ceiling');
  // The table, for people.
  const table = await runCli(['evaluate', '--model', path.join(out, 'generator-best'), '--count', '200', '--backend', 'native'], 240_000);
  assert.equal(table.code, 0, table.stderr.slice(-2000));
  assert.match(table.stdout, /MNIST-FID +FID logits +IS/);
  assert.match(table.stdout, /^real training \(floor\) +\d+\.\d{3}/m);
});
