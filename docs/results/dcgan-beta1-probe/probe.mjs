// Experiment (not committed): DCGAN, one process, batch 128, raw G vs EMA of G's full state, FID on 5000 samples.
const D = '/work/main/dist/';
const { initialWeights } = await import(D + 'src/shared/gan/architecture.js');
const { archSpecs } = await import(D + 'src/shared/gan/archs.js');
const { GanReplica } = await import(D + 'src/shared/gan/replica.js');
const { trainStep } = await import(D + 'src/shared/gan/trainStep.js');
const { DataFeeder } = await import(D + 'src/shared/data/dataFeeder.js');
const { loadTrainingSet } = await import(D + 'src/shared/data/dataset.js');
const { stepsPerEpoch } = await import(D + 'src/shared/data/sharding.js');
const { trainConfig } = await import(D + 'test/fixtures/trainConfig.js');
const { selectBackend } = await import(D + 'src/shared/gan/backend.js');
const { tf } = await import(D + 'src/shared/gan/tf.js');
const { silentLogger } = await import(D + 'src/shared/logger.js');
const { buildModel, setFlatWeights } = await import(D + 'src/shared/gan/models.js');
const { loadClassifier } = await import(D + 'src/shared/eval/classifier.js');
const { generateImages, scoreImages, testReference } = await import(D + 'src/evaluate/evaluate.js');
const [name, beta1, lr, steps, every, dlrArg] = process.argv.slice(2);
const STEPS = Number(steps), EVERY = Number(every), BATCH = 128;
await selectBackend('native', silentLogger);
const data = loadTrainingSet();
const config = trainConfig({ arch: 'dcgan', latentDim: 100, batchSize: BATCH, steps: STEPS, stepsPerEpoch: stepsPerEpoch(data.count, BATCH), lr: Number(lr), beta1: Number(beta1), seed: 42 });
const feeder = new DataFeeder(data, config);
const specs = archSpecs('dcgan', 100);
const replica = new GanReplica(tf, config);
replica.setWeights(initialWeights(specs.generator, config.seed), initialWeights(specs.discriminator, config.seed));
const classifier = await loadClassifier(tf);
const reference = await testReference(tf, classifier);
const evalG = buildModel(tf, specs.generator);
const decays = [0.99, 0.999];
let emas;
const identity = async (_s, _p, g) => g;
const t0 = performance.now();
for (let step = 1; step <= STEPS; step++) {
  const r = await trainStep(replica, config, feeder.batchFor(step, 0, 1), identity);
  replica.commit();
  const g = (await replica.getWeights()).generator;
  if (!emas) emas = decays.map(() => Float32Array.from(g));
  else decays.forEach((d, k) => { const e = emas[k]; const a = 1 - d; for (let i = 0; i < g.length; i++) e[i] += a * (g[i] - e[i]); });
  if (step % EVERY === 0) {
    const out = { name, step, sec: Math.round((performance.now() - t0) / 1000) };
    for (const [label, w] of [['raw', g], ...decays.map((d, k) => [`ema${d}`, emas[k]])]) {
      setFlatWeights(tf, evalG, specs.generator, w);
      const s = await scoreImages(tf, classifier, reference, await generateImages(tf, evalG, 100, 5000, 7));
      out[label] = { fid: +s.fid.toFixed(2), conf: +s.coverage.meanConfidence.toFixed(3), digits: s.coverage.digitsAtLeast5Percent };
    }
    console.log(JSON.stringify(out));
  }
}
