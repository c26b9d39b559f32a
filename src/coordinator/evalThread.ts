/**
 * Runs in a worker thread of the coordinator: scores rank 0's generator at
 * --eval-every steps (MNIST-FID and the rest) with its own TensorFlow.js, so
 * the coordinator's event loop, and with it data shipping and heartbeats,
 * never waits for an evaluation.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Arch, BackendName } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import { archSpecs } from '../shared/gan/archs.js';
import { selectBackend } from '../shared/gan/backend.js';
import { buildModel, setFlatWeights } from '../shared/gan/models.js';
import { tf } from '../shared/gan/tf.js';
import { silentLogger } from '../shared/logger.js';
import { loadClassifier } from '../shared/eval/classifier.js';
import { generateImages, scoreImages, testReference } from '../evaluate/evaluate.js';
import type { Scores } from '../evaluate/evaluate.js';

export interface EvalThreadOptions {
  arch: Arch;
  latentDim: number;
  count: number;
  seed: number;
  backend: BackendName;
  dataDir?: string;
  classifierDir?: string;
}

export type EvalRequest = { step: number; generator: Float32Array } | 'stop';
export type EvalReply =
  | { kind: 'ready'; backend: string }
  | { kind: 'scores'; step: number; scores: Scores; ms: number }
  | { kind: 'error'; step?: number; message: string };

const opts = workerData as EvalThreadOptions;
const port = parentPort!;

async function main(): Promise<void> {
  const backend = await selectBackend(opts.backend, silentLogger);
  const classifier = await loadClassifier(tf, opts.classifierDir);
  const reference = await testReference(tf, classifier, opts.dataDir);
  const spec = archSpecs(opts.arch, opts.latentDim).generator;
  const generator = buildModel(tf, spec);
  port.postMessage({ kind: 'ready', backend: backend.name } satisfies EvalReply);
  port.on('message', (req: EvalRequest) => {
    if (req === 'stop') {
      port.close();
      return;
    }
    void (async () => {
      const t0 = performance.now();
      try {
        setFlatWeights(tf, generator, spec, req.generator);
        const scores = await scoreImages(tf, classifier, reference, await generateImages(tf, generator, opts.latentDim, opts.count, opts.seed));
        port.postMessage({ kind: 'scores', step: req.step, scores, ms: performance.now() - t0 } satisfies EvalReply);
      } catch (err) {
        port.postMessage({ kind: 'error', step: req.step, message: errorMessage(err) } satisfies EvalReply);
      }
    })();
  });
}

main().catch((err: unknown) => port.postMessage({ kind: 'error', message: errorMessage(err) } satisfies EvalReply));
