import { createHash } from 'node:crypto';
import { z } from 'zod/v4';
import type { TrainConfig } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { trainConfigSchema } from '../shared/protocol.js';

/**
 * Everything a run needs to continue after `step`: both models' full state,
 * both optimizers' state, and the config. The data order and every noise
 * vector are functions of (seed, epoch, position), and the position of step
 * k+1 is a function of k, so no generator state needs saving.
 */
export interface Checkpoint {
  step: number;
  config: TrainConfig;
  weights: { generator: Float32Array; discriminator: Float32Array };
  optimizer: { generator: Float32Array; discriminator: Float32Array };
}

export class CheckpointError extends TrainerError {
  constructor(message: string) {
    super('E_CHECKPOINT', message);
    this.name = 'CheckpointError';
  }
}

const MAGIC = Buffer.from('TRAINCKP');
const FORMAT = 1;
const ARRAYS = ['weights.generator', 'weights.discriminator', 'optimizer.generator', 'optimizer.discriminator'] as const;
const DIGEST_BYTES = 32;

const headerSchema = z.object({
  format: z.literal(FORMAT),
  step: z.number().int().nonnegative(),
  /** Where the next step starts, for people reading the header: derived from step. */
  epoch: z.number().int().positive(),
  position: z.number().int().nonnegative(),
  // Checkpoints written before elastic membership lack its two fields: they mean a fixed world.
  config: trainConfigSchema.extend({ minWorkers: z.number().int().positive().optional(), rejoinTimeoutMs: z.number().int().nonnegative().optional(), evalEvery: z.number().int().nonnegative().optional() }),
  arrays: z.array(z.object({ name: z.enum(ARRAYS), length: z.number().int().nonnegative() }).strict()).length(ARRAYS.length),
}).strict();

function arraysOf(c: Checkpoint): Float32Array[] {
  return [c.weights.generator, c.weights.discriminator, c.optimizer.generator, c.optimizer.discriminator];
}

/**
 * Layout: "TRAINCKP", u32 header length, JSON header padded with spaces to a
 * multiple of 4, the four float32 arrays (little-endian), SHA-256 of all before it.
 * As the file's consecutive parts: the arrays are views of the checkpoint's own
 * memory (tens of MB that a copy would only duplicate), valid while it is.
 */
export function checkpointParts(c: Checkpoint): Buffer[] {
  const arrays = arraysOf(c);
  const header = {
    format: FORMAT, step: c.step, epoch: Math.floor(c.step / c.config.stepsPerEpoch) + 1,
    position: (c.step % c.config.stepsPerEpoch) * c.config.world * c.config.batchSize, config: c.config,
    arrays: ARRAYS.map((name, i) => ({ name, length: arrays[i]!.length })),
  };
  const json = Buffer.from(JSON.stringify(header));
  const pad = (4 - ((MAGIC.length + 4 + json.length) % 4)) % 4;
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length + pad);
  const parts = [MAGIC, length, json, Buffer.alloc(pad, ' '), ...arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))];
  const digest = createHash('sha256');
  for (const part of parts) digest.update(part);
  return [...parts, digest.digest()];
}

/** The checkpoint as one buffer (checkpointParts joined). */
export function encodeCheckpoint(c: Checkpoint): Buffer {
  return Buffer.concat(checkpointParts(c));
}

/** Reads a checkpoint, or says precisely why the bytes are not one. */
export function decodeCheckpoint(bytes: Buffer): Checkpoint {
  if (bytes.length < MAGIC.length + 4 + DIGEST_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new CheckpointError('not a trainer checkpoint (bad magic or too short)');
  const body = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  if (!createHash('sha256').update(body).digest().equals(bytes.subarray(bytes.length - DIGEST_BYTES))) {
    throw new CheckpointError(`checksum mismatch: the file is truncated or corrupt (${bytes.length} bytes)`);
  }
  const headerLength = body.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (start + headerLength > body.length) throw new CheckpointError('header runs past the end of the file');
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(body.subarray(start, start + headerLength).toString('utf8')));
  } catch (err) {
    throw new CheckpointError(`invalid header: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  let offset = start + headerLength;
  const arrays = header.arrays.map((a, i) => {
    if (a.name !== ARRAYS[i]) throw new CheckpointError(`array ${i} is ${a.name}, expected ${ARRAYS[i]}`);
    const end = offset + a.length * 4;
    if (end > body.length) throw new CheckpointError(`${a.name} runs past the end of the file`);
    // Copy into an aligned array of our own.
    const out = new Float32Array(a.length);
    new Uint8Array(out.buffer).set(body.subarray(offset, end));
    offset = end;
    return out;
  });
  if (offset !== body.length) throw new CheckpointError(`${body.length - offset} unexpected bytes after the arrays`);
  return {
    step: header.step,
    config: { ...header.config, minWorkers: header.config.minWorkers ?? header.config.world, rejoinTimeoutMs: header.config.rejoinTimeoutMs ?? 0, evalEvery: header.config.evalEvery ?? 0 },
    weights: { generator: arrays[0]!, discriminator: arrays[1]! },
    optimizer: { generator: arrays[2]!, discriminator: arrays[3]! },
  };
}
