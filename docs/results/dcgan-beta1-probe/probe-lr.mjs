// Probe (not a trainer run): the DCGAN in one process with the trainer's own step (GanReplica + trainStep, a one-rank
// reduce), batch 128, seed 42, native backend, the trainer's weight average (--ema-decay 0.999); the raw generator and
// its average scored every EVERY steps on 5000 samples. Args: name beta1 lr steps every [emaDecay].
const D = process.env.TRAINER_DIST ?? '/work/main/dist/';
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
const [name, beta1, lr, steps, every, ema] = process.argv.slice(2);
const STEPS = Number(steps), EVERY = Number(every), BATCH = 128;
await selectBackend('native', silentLogger);
const data = loadTrainingSet();
const config = trainConfig({ arch: 'dcgan', latentDim: 100, batchSize: BATCH, steps: STEPS, stepsPerEpoch: stepsPerEpoch(data.count, BATCH), lr: Number(lr), beta1: Number(beta1), seed: 42, emaDecay: Number(ema ?? 0.999) });
const feeder = new DataFeeder(data, config);
const specs = archSpecs('dcgan', 100);
const replica = new GanReplica(tf, config);
replica.setWeights(initialWeights(specs.generator, config.seed), initialWeights(specs.discriminator, config.seed));
const classifier = await loadClassifier(tf);
const reference = await testReference(tf, classifier);
const evalG = buildModel(tf, specs.generator);
const identity = async (_s, _p, g) => g;
const t0 = performance.now();
for (let step = 1; step <= STEPS; step++) {
  await trainStep(replica, config, feeder.batchFor(step, 0, 1), identity);
  replica.commit();
  if (step % EVERY === 0) {
    const out = { name, lr: config.lr, beta1: config.beta1, emaDecay: config.emaDecay, step, sec: Math.round((performance.now() - t0) / 1000) };
    for (const [label, w] of [['raw', (await replica.getWeights()).generator], ['average', await replica.getGeneratorAverage()]]) {
      setFlatWeights(tf, evalG, specs.generator, w);
      const s = await scoreImages(tf, classifier, reference, await generateImages(tf, evalG, 100, 5000, 7));
      out[label] = { fid: +s.fid.toFixed(2), conf: +s.coverage.meanConfidence.toFixed(3), digits: s.coverage.digitsAtLeast5Percent };
    }
    console.log(JSON.stringify(out));
  }
}
