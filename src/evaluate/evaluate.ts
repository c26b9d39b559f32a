import { DataFormatError } from '../shared/errors.js';
import { IMAGE_SIZE, loadTestSet, loadTrainingSet } from '../shared/data/dataset.js';
import { epochPermutation, gatherExamples } from '../shared/data/sharding.js';
import { initialWeights, paramShapes } from '../shared/gan/architecture.js';
import { archSpecs } from '../shared/gan/archs.js';
import { buildModel, setFlatWeights } from '../shared/gan/models.js';
import { loadModelDir } from '../shared/gan/modelFiles.js';
import type { Tensor, Tf } from '../shared/gan/tf.js';
import { ARCHS, type Arch } from '../shared/config.js';
import { sampleNoise } from '../shared/sampleGrid.js';
import { CLASSES, FEATURE_SIZE, classify, loadClassifier, scaleBytes } from '../shared/eval/classifier.js';
import { type Gaussian, fitGaussian, frechetDistance } from '../shared/eval/frechet.js';
import { type ModeCoverage, inceptionScore, modeCoverage } from '../shared/eval/scores.js';

type LayersModel = Awaited<ReturnType<Tf['loadLayersModel']>>;

/** Every score of one set of images against the MNIST test set. */
export interface Scores {
  /** Fréchet distance of the classifier's penultimate features (FEATURE_SIZE of them). */
  fid: number;
  /** The same on the 10 logits (what TF-GAN's mnist_frechet_distance reports). */
  fidLogits: number;
  inceptionScore: number;
  coverage: ModeCoverage;
}

export interface Evaluation {
  count: number;
  featureSize: number;
  arch: Arch;
  generated: Scores;
  /** Calibration: `count` real training images (the floor) and an untrained generator of the same architecture (the ceiling). */
  realTraining: Scores;
  untrained: Scores;
}

/** Scores of images read from a file (`trainer evaluate --images`), with the same real-data floor. */
export interface ImagesEvaluation {
  count: number;
  featureSize: number;
  file: string;
  format: string;
  generated: Scores;
  realTraining: Scores;
}

/** The MNIST test set through the classifier, once: the reference every score compares with. */
export interface Reference {
  features: Gaussian;
  logits: Gaussian;
}

export async function testReference(tf: Tf, classifier: LayersModel, dataDir?: string): Promise<Reference> {
  const test = loadTestSet(dataDir);
  const c = await classify(tf, classifier as never, scaleBytes(test.images));
  return { features: fitGaussian(c.features, c.count, FEATURE_SIZE), logits: fitGaussian(c.logits, c.count, CLASSES) };
}

/** Scores images in [-1, 1] against the reference. */
export async function scoreImages(tf: Tf, classifier: LayersModel, reference: Reference, images: Float32Array): Promise<Scores> {
  const c = await classify(tf, classifier as never, images);
  return {
    fid: frechetDistance(fitGaussian(c.features, c.count, FEATURE_SIZE), reference.features),
    fidLogits: frechetDistance(fitGaussian(c.logits, c.count, CLASSES), reference.logits),
    inceptionScore: inceptionScore(c.logits, c.count),
    coverage: modeCoverage(c.logits, c.count),
  };
}

/** `count` images from a generator, in [-1, 1], from the sample grids' noise stream. */
export async function generateImages(tf: Tf, generator: { predict: LayersModel['predict'] }, latentDim: number, count: number, seed: number, batch = 500): Promise<Float32Array> {
  const out = new Float32Array(count * IMAGE_SIZE);
  const z = sampleNoise(seed, count, latentDim);
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const t = tf.tidy(() => generator.predict(tf.tensor2d(z.subarray(start * latentDim, (start + n) * latentDim), [n, latentDim])) as Tensor);
    out.set(await t.data() as Float32Array, start * IMAGE_SIZE);
    t.dispose();
  }
  return out;
}

/** The floor: the first `count` training images of the seed's epoch-0 order, scored like generated ones. */
async function realFloor(tf: Tf, classifier: LayersModel, reference: Reference, count: number, seed: number, dataDir?: string): Promise<Scores> {
  const train = loadTrainingSet(dataDir);
  const order = epochPermutation(train.count, seed, 0);
  return scoreImages(tf, classifier, reference, scaleBytes(gatherExamples(train.images, IMAGE_SIZE, order, 0, Math.min(count, train.count))));
}

/** Which architecture a saved generator is, from its parameter shapes. */
function archOf(model: LayersModel): Arch {
  const shapes = JSON.stringify(model.weights.map((w) => w.shape));
  const found = ARCHS.find((a) => JSON.stringify(paramShapes(archSpecs(a, 100).generator).map((p) => p.shape)) === shapes);
  if (!found) throw new DataFormatError(`the generator's parameters match no known architecture (${ARCHS.join(', ')})`);
  return found;
}

export interface EvaluateOptions {
  modelDir: string;
  count: number;
  seed: number;
  dataDir?: string;
  classifierDir?: string;
}

/** MNIST-FID, Inception Score and mode coverage of a saved generator, with the real-data floor and the untrained ceiling. */
export async function evaluateGenerator(tf: Tf, opts: EvaluateOptions): Promise<Evaluation> {
  const generator = await loadModelDir(tf, opts.modelDir);
  const classifier = await loadClassifier(tf, opts.classifierDir);
  try {
    const arch = archOf(generator);
    const latentDim = generator.inputs[0]!.shape[1] as number;
    const reference = await testReference(tf, classifier, opts.dataDir);
    const generated = await scoreImages(tf, classifier, reference, await generateImages(tf, generator, latentDim, opts.count, opts.seed));
    const realTraining = await realFloor(tf, classifier, reference, opts.count, opts.seed, opts.dataDir);
    const spec = archSpecs(arch, latentDim).generator;
    const fresh = buildModel(tf, spec);
    setFlatWeights(tf, fresh, spec, initialWeights(spec, opts.seed));
    const untrained = await scoreImages(tf, classifier, reference, await generateImages(tf, fresh, latentDim, opts.count, opts.seed));
    fresh.dispose();
    return { count: opts.count, featureSize: FEATURE_SIZE, arch, generated, realTraining, untrained };
  } finally {
    generator.dispose();
    classifier.dispose();
  }
}

export interface EvaluateImagesOptions {
  /** Shown in the report. */
  file: string;
  format: string;
  /** count × 784 values in [-1, 1]. */
  images: Float32Array;
  count: number;
  seed: number;
  dataDir?: string;
  classifierDir?: string;
}

/** Scores a set of images from anywhere (a file), with the real-data floor on as many training images. */
export async function evaluateImages(tf: Tf, opts: EvaluateImagesOptions): Promise<ImagesEvaluation> {
  const classifier = await loadClassifier(tf, opts.classifierDir);
  try {
    const reference = await testReference(tf, classifier, opts.dataDir);
    const generated = await scoreImages(tf, classifier, reference, opts.images);
    const realTraining = await realFloor(tf, classifier, reference, opts.count, opts.seed, opts.dataDir);
    return { count: opts.count, featureSize: FEATURE_SIZE, file: opts.file, format: opts.format, generated, realTraining };
  } finally {
    classifier.dispose();
  }
}

/** The evaluation as a terminal table. */
export function formatEvaluation(e: Evaluation | ImagesEvaluation): string {
  const rows: Array<[string, Scores]> = 'arch' in e
    ? [['generated', e.generated], ['real training (floor)', e.realTraining], ['untrained (ceiling)', e.untrained]]
    : [['images', e.generated], ['real training (floor)', e.realTraining]];
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lines = [
    `${e.count} images per set, against the 10,000 MNIST test images; ${e.featureSize} classifier features; ${'arch' in e ? `${e.arch} generator` : `${e.file} (${e.format})`}`,
    '',
    `${pad('', 24)}${pad('MNIST-FID', 12)}${pad('FID logits', 12)}${pad('IS', 8)}${pad('digits ≥5%', 12)}${pad('KL(unif)', 10)}confidence`,
    ...rows.map(([name, s]) => `${pad(name, 24)}${pad(s.fid.toFixed(3), 12)}${pad(s.fidLogits.toFixed(3), 12)}${pad(s.inceptionScore.toFixed(2), 8)}${pad(String(s.coverage.digitsAtLeast5Percent), 12)}${pad(s.coverage.klFromUniform.toFixed(3), 10)}${s.coverage.meanConfidence.toFixed(3)}`),
    '',
    `digit shares (${'arch' in e ? 'generated' : 'images'}): ${e.generated.coverage.fractions.map((f, d) => `${d}: ${(f * 100).toFixed(1)}%`).join('  ')}`,
  ];
  return lines.join('\n');
}
