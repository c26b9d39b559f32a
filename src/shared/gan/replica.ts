import { createHash } from 'node:crypto';
import type { Tf } from './tf.js';
import type { TrainConfig } from '../config.js';
import { archSpecs, paramShapes } from './architecture.js';
import { buildMlp } from './models.js';
import { FlatAdam } from './flatAdam.js';

type Tensor = ReturnType<Tf['tensor']>;
type Variable = ReturnType<Tf['variable']>;
type LayersModel = ReturnType<typeof buildMlp>;

export interface DiscriminatorResult {
  loss: number;
  /** Mean D(x) and D(G(z)), as probabilities. */
  dReal: number;
  dFake: number;
  grads: Float32Array;
}

export interface GeneratorResult {
  loss: number;
  grads: Float32Array;
}

/**
 * `data()` already hands back a buffer of our own, disposed tensor or not;
 * copying it again would cost megabytes of garbage per step.
 */
function asFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** One model's trainable variables, in a fixed order, and how to (un)fuse them. */
class ParamGroup {
  readonly vars: Variable[];
  readonly sizes: number[];
  readonly shapes: number[][];
  readonly total: number;

  constructor(readonly model: LayersModel) {
    this.vars = model.trainableWeights.map((w) => w.read() as Variable);
    this.shapes = model.trainableWeights.map((w) => w.shape as number[]);
    this.sizes = this.shapes.map((s) => s.reduce((a, b) => a * b, 1));
    this.total = this.sizes.reduce((a, b) => a + b, 0);
  }
}

/**
 * One replica of the GAN: computes local gradients as one fused buffer per model
 * and applies averaged gradients. Every replica that applies the same buffers
 * stays identical, which `stateHash` verifies.
 */
export class GanReplica {
  readonly generator: LayersModel;
  readonly discriminator: LayersModel;
  private readonly g: ParamGroup;
  private readonly d: ParamGroup;
  private readonly gOpt: FlatAdam;
  private readonly dOpt: FlatAdam;

  constructor(private readonly tf: Tf, private readonly config: TrainConfig) {
    const specs = archSpecs(config.arch, config.latentDim);
    this.generator = buildMlp(tf, specs.generator);
    this.discriminator = buildMlp(tf, specs.discriminator);
    this.g = new ParamGroup(this.generator);
    this.d = new ParamGroup(this.discriminator);
    this.gOpt = new FlatAdam(tf, this.g.total, config.lr, config.beta1, config.beta2, config.epsilon);
    this.dOpt = new FlatAdam(tf, this.d.total, config.lr, config.beta1, config.beta2, config.epsilon);
  }

  /** Names and shapes of what was really built, for the model hash. */
  builtParamShapes(): Array<{ name: string; shape: number[] }> {
    return [this.generator, this.discriminator].flatMap((m) => m.trainableWeights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })));
  }

  /** What the specs say should have been built; equal to builtParamShapes unless the builder drifted. */
  static expectedParamShapes(config: TrainConfig): Array<{ name: string; shape: number[] }> {
    const specs = archSpecs(config.arch, config.latentDim);
    return [...paramShapes(specs.generator), ...paramShapes(specs.discriminator)];
  }

  get generatorSize(): number {
    return this.g.total;
  }

  get discriminatorSize(): number {
    return this.d.total;
  }

  setWeights(generator: Float32Array, discriminator: Float32Array): void {
    this.assign(this.g, generator);
    this.assign(this.d, discriminator);
  }

  private assign(group: ParamGroup, flat: Float32Array): void {
    if (flat.length !== group.total) throw new RangeError(`${group.model.name}: got ${flat.length} weights, expected ${group.total}`);
    let offset = 0;
    group.vars.forEach((v, i) => {
      const size = group.sizes[i]!;
      this.tf.tidy(() => v.assign(this.tf.tensor(flat.subarray(offset, offset + size), group.shapes[i])));
      offset += size;
    });
  }

  async getWeights(): Promise<{ generator: Float32Array; discriminator: Float32Array }> {
    return { generator: await this.fuse(this.g.vars), discriminator: await this.fuse(this.d.vars) };
  }

  /** One read-back per model instead of one per tensor. */
  private async fuse(tensors: Tensor[]): Promise<Float32Array> {
    const flat = this.tf.tidy(() => this.tf.concat(tensors.map((t) => t.reshape([-1]))));
    try {
      return new Float32Array(await flat.data());
    } finally {
      flat.dispose();
    }
  }

  /** Pixels in [0, 255] to the generator's range [-1, 1]. */
  private scaleImages(images: Uint8Array, n: number): Tensor {
    return this.tf.tidy(() => this.tf.tensor2d(images, [n, images.length / n], 'float32').div(127.5).sub(1));
  }

  /** D loss = BCE(D(x), 1) + BCE(D(G(z)), 0), gradients for D's parameters only. */
  async discriminatorGradients(images: Uint8Array, z: Float32Array): Promise<DiscriminatorResult> {
    const tf = this.tf;
    const n = z.length / this.config.latentDim;
    const out = tf.tidy(() => {
      const real = this.scaleImages(images, n);
      const noise = tf.tensor2d(z, [n, this.config.latentDim]);
      const fake = this.generator.apply(noise, { training: true }) as Tensor;
      let probs: Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const realLogits = this.discriminator.apply(real, { training: true }) as Tensor;
        const fakeLogits = this.discriminator.apply(fake, { training: true }) as Tensor;
        // Intermediates inside variableGrads are released when it returns; keep the two statistics.
        probs = tf.keep(tf.stack([tf.sigmoid(realLogits).mean(), tf.sigmoid(fakeLogits).mean()]));
        const lossReal = tf.losses.sigmoidCrossEntropy(tf.onesLike(realLogits), realLogits);
        const lossFake = tf.losses.sigmoidCrossEntropy(tf.zerosLike(fakeLogits), fakeLogits);
        return lossReal.add(lossFake) as ReturnType<Tf['scalar']>;
      }, this.d.vars);
      const flat = tf.concat(this.d.vars.map((v) => grads[v.name]!.reshape([-1])));
      const stats = tf.concat([value.reshape([1]), probs!]);
      probs!.dispose();
      return { flat, stats };
    });
    const [grads, stats] = await Promise.all([out.flat.data(), out.stats.data()]);
    out.flat.dispose();
    out.stats.dispose();
    return { loss: stats[0]!, dReal: stats[1]!, dFake: stats[2]!, grads: asFloat32(grads) };
  }

  /** Non-saturating G loss = BCE(D(G(z)), 1), gradients for G's parameters only. */
  async generatorGradients(z: Float32Array): Promise<GeneratorResult> {
    const tf = this.tf;
    const n = z.length / this.config.latentDim;
    const out = tf.tidy(() => {
      const noise = tf.tensor2d(z, [n, this.config.latentDim]);
      const { value, grads } = tf.variableGrads(() => {
        const logits = this.discriminator.apply(this.generator.apply(noise, { training: true }) as Tensor, { training: true }) as Tensor;
        return tf.losses.sigmoidCrossEntropy(tf.onesLike(logits), logits) as ReturnType<Tf['scalar']>;
      }, this.g.vars);
      return { flat: tf.concat(this.g.vars.map((v) => grads[v.name]!.reshape([-1]))), value };
    });
    const [grads, loss] = await Promise.all([out.flat.data(), out.value.data()]);
    out.flat.dispose();
    out.value.dispose();
    return { loss: loss[0]!, grads: asFloat32(grads) };
  }

  applyDiscriminator(avg: Float32Array): void {
    this.apply(this.d, this.dOpt, avg);
  }

  applyGenerator(avg: Float32Array): void {
    this.apply(this.g, this.gOpt, avg);
  }

  private apply(group: ParamGroup, opt: FlatAdam, avg: Float32Array): void {
    if (avg.length !== group.total) throw new RangeError(`${group.model.name}: got ${avg.length} gradients, expected ${group.total}`);
    const tf = this.tf;
    tf.tidy(() => {
      // One upload and one update over the fused vector, then split back into the model's variables.
      const value = tf.concat(group.vars.map((v) => v.reshape([-1])));
      const parts = tf.split(opt.update(value, tf.tensor1d(avg)), group.sizes);
      group.vars.forEach((v, i) => v.assign(parts[i]!.reshape(group.shapes[i]!)));
    });
  }

  /** Images in [-1, 1] for the given latent vectors. */
  async generate(z: Float32Array): Promise<Float32Array> {
    const n = z.length / this.config.latentDim;
    const out = this.tf.tidy(() => this.generator.predict(this.tf.tensor2d(z, [n, this.config.latentDim])) as Tensor);
    try {
      return new Float32Array(await out.data());
    } finally {
      out.dispose();
    }
  }

  /** SHA-256 over all weights and both optimizers' state (step counters and moments). */
  async stateHash(): Promise<string> {
    const h = createHash('sha256');
    const { generator, discriminator } = await this.getWeights();
    h.update(new Uint8Array(generator.buffer, generator.byteOffset, generator.byteLength));
    h.update(new Uint8Array(discriminator.buffer, discriminator.byteOffset, discriminator.byteLength));
    for (const opt of [this.gOpt, this.dOpt]) for (const bytes of await opt.state()) h.update(bytes);
    return h.digest('hex');
  }

  dispose(): void {
    this.gOpt.dispose();
    this.dOpt.dispose();
    this.generator.dispose();
    this.discriminator.dispose();
  }
}
