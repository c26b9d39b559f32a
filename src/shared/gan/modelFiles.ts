import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, DataFormatError, errorMessage } from '../errors.js';
import path from 'node:path';
import type { Tf } from './tf.js';

type IOHandler = ReturnType<Tf['io']['withSaveHandler']>;
type ModelArtifacts = Parameters<NonNullable<IOHandler['save']>>[0];

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/**
 * Pure @tensorflow/tfjs has no file:// handler in Node; this writes the same
 * layout tfjs-node would (model.json + one weights shard), so `tf.loadLayersModel`
 * and tfjs-node's file:// loader both read it.
 */
export function directorySaveHandler(tf: Tf, dir: string): IOHandler {
  return tf.io.withSaveHandler(async (artifacts: ModelArtifacts) => {
    mkdirSync(dir, { recursive: true });
    const weightData = artifacts.weightData;
    const buffers = weightData === undefined ? [] : Array.isArray(weightData) ? weightData : [weightData];
    const bytes = Buffer.concat(buffers.map((b) => Buffer.from(b)));
    writeFileSync(path.join(dir, WEIGHTS_BIN), bytes);
    const json = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
    };
    writeFileSync(path.join(dir, MODEL_JSON), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
  });
}

/** Reads what directorySaveHandler wrote. */
export function directoryLoadHandler(tf: Tf, dir: string): IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(path.join(dir, MODEL_JSON), 'utf8')) as {
        modelTopology: object; format?: string; generatedBy?: string; convertedBy?: string | null;
        weightsManifest: Array<{ paths: string[]; weights: ModelArtifacts['weightSpecs'] }>;
      };
      const manifest = json.weightsManifest;
      const weightSpecs = manifest.flatMap((g) => g.weights ?? []);
      const data = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p)))));
      return {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
        ...(json.format ? { format: json.format } : {}),
      };
    },
  };
}

export function saveModelTo(tf: Tf, model: { save: (h: IOHandler) => Promise<unknown> }, dir: string): Promise<unknown> {
  return model.save(directorySaveHandler(tf, dir));
}

/** Loads the model a run saved in `dir` (its generator/), with the --model flag's errors: missing, or not a tfjs model. */
export async function loadModelDir(tf: Tf, dir: string): Promise<Awaited<ReturnType<Tf['loadLayersModel']>>> {
  if (!existsSync(path.join(dir, MODEL_JSON))) throw new ConfigError(`--model ${dir} has no model.json (give the generator/ directory of a run)`);
  try {
    return await tf.loadLayersModel(directoryLoadHandler(tf, dir));
  } catch (err) {
    throw new DataFormatError(`--model ${dir}: not a TensorFlow.js layers model (${errorMessage(err)})`);
  }
}
