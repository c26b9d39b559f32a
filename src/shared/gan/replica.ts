// One class, under 400 lines: the phases, the update, rollback, the hash and the generator's average all work on the same
// models, optimizers and statistics snapshots, and splitting it would pass that state around instead.
import { createHash } from 'node:crypto';
import type { Tf, Tensor, Variable } from './tf.js';
import type { TrainConfig } from '../config.js';
import { paramShapes } from './architecture.js';
import { archSpecs } from './archs.js';
import { buildModel } from './models.js';
import { type AdamSnapshot, FlatAdam } from './flatAdam.js';
import { GAN_LOSS_KERNEL } from './ganLossOp.js';
import { BATCH_NORM_KERNEL } from './batchNormOp.js';
import { hasDenseOp } from './denseOp.js';
import { type PhaseModels, fusedDiscriminatorLoss, fusedGeneratorLoss } from './fusedPhases.js';
import { layersDiscriminatorLoss, layersGeneratorLoss } from './layersPhases.js';
import { ParamGroup, VarList } from './paramGroup.js';
import { ReadBackBuffers, withBytes } from './readBack.js';
import { type Averaged, averagedLength, averagedRange } from '../allreduce/averaged.js';
import { allFinite } from './finite.js';
import { updateParams } from './paramUpdate.js';
import { WeightAverage } from './weightAverage.js';
import { learningRateAt } from './lrSchedule.js';
import { averageInOptimizerState, withAverage } from './stateLayout.js';
import type { GanSpecs } from './archs.js';

type LayersModel = ReturnType<typeof buildModel>;

export interface DiscriminatorResult {
  loss: number;
  /** Mean D(x) and D(G(z)), as probabilities. */
  dReal: number;
  dFake: number;
  /** Valid until this replica's next discriminatorGradients: the memory is reused (readBack.ts). */
  grads: Float32Array;
}

export interface GeneratorResult {
  loss: number;
  /** Valid until this replica's next generatorGradients. */
  grads: Float32Array;
}

export type ParamShape = { name: string; shape: number[]; trainable: boolean };

/**
 * Where a phase's reduce buffer of `length` floats should be read back to: the memory the all-reduce
 * reads it from (the shared-memory all-reduce's slot), sparing it a copy; undefined: anywhere.
 */
export type GradientsInto = (length: number) => Float32Array | undefined;

/**
 * One replica of the GAN: computes local gradients as one fused buffer per model
 * and applies averaged gradients. Every replica that applies the same buffers
 * stays identical, which `stateHash` verifies.
 *
 * Batch norm updates its moving statistics from each worker's own batch, so they
 * would drift apart. Each phase's buffer therefore carries, after the gradients,
 * the moving statistics of both models as they stand after that phase's forward
 * passes; the all-reduce averages them along with the gradients (no extra
 * collective), and every replica assigns the same average. Their update is
 * linear, so this equals a moving average of the workers' mean batch statistics.
 */
export class GanReplica {
  readonly generator: LayersModel;
  readonly discriminator: LayersModel;
  private readonly g: ParamGroup;
  private readonly d: ParamGroup;
  /** Both models' moving statistics, in the order they follow the gradients. */
  private readonly stats: VarList;
  private readonly gOpt: FlatAdam;
  private readonly dOpt: FlatAdam;
  /** The generator's state averaged over steps (config.emaDecay), or undefined when off. */
  private readonly average: WeightAverage | undefined;
  /** The state at the last commit(), for rollback(). */
  private committed: { vars: Tensor[]; g: AdamSnapshot; d: AdamSnapshot; average: Tensor | undefined } | undefined;
  /** The moving statistics before the current phase's forward passes, for skipUpdate(). */
  private statsBefore: Tensor[] | undefined;
  private readonly specs: GanSpecs;
  /** Whether the generator has batch norm: the fused phases then need the backend's batch-norm op too. */
  private readonly generatorBatchNorm: boolean;
  /** Each phase's reduce buffer, read back into the same memory every step (readBack.ts). */
  private readonly readBacks: ReadBackBuffers;

  constructor(private readonly tf: Tf, private readonly config: TrainConfig) {
    const specs = archSpecs(config.arch, config.latentDim);
    // discriminatorGradients runs D once over real and fake together: right only while no example's logit depends on another's.
    if (specs.discriminator.layers.some((l) => l.kind === 'batchNorm')) throw new Error(`${config.arch}: a discriminator with batch norm needs separate real and fake passes`);
    this.specs = specs;
    this.generatorBatchNorm = specs.generator.layers.some((l) => l.kind === 'batchNorm');
    this.generator = buildModel(tf, specs.generator);
    this.discriminator = buildModel(tf, specs.discriminator);
    this.g = new ParamGroup(this.generator);
    this.d = new ParamGroup(this.discriminator);
    this.stats = new VarList([...this.g.stats.vars, ...this.d.stats.vars]);
    this.gOpt = new FlatAdam(tf, this.g.params.total, config.beta1, config.beta2, config.epsilon);
    this.dOpt = new FlatAdam(tf, this.d.params.total, config.beta1, config.beta2, config.epsilon);
    this.average = config.emaDecay ? new WeightAverage(tf, config.emaDecay) : undefined;
    this.readBacks = new ReadBackBuffers(tf);
  }

  /** Names and shapes of what was really built, for the model hash. */
  builtParamShapes(): ParamShape[] {
    return [this.generator, this.discriminator].flatMap((m) => [
      ...m.trainableWeights.map((w) => ({ name: w.originalName, shape: w.shape as number[], trainable: true })),
      ...m.nonTrainableWeights.map((w) => ({ name: w.originalName, shape: w.shape as number[], trainable: false })),
    ]);
  }

  /** What the specs say should have been built; equal to builtParamShapes unless the builder drifted. */
  static expectedParamShapes(config: TrainConfig): ParamShape[] {
    const specs = archSpecs(config.arch, config.latentDim);
    return [specs.generator, specs.discriminator].flatMap((s) => paramShapes(s).map(({ name, shape, trainable }) => ({ name, shape, trainable })));
  }

  /** Floats in each model's full state (what setWeights takes). */
  get generatorSize(): number {
    return this.g.all.total;
  }

  get discriminatorSize(): number {
    return this.d.all.total;
  }

  /** Floats in each phase's reduce buffer: that model's gradients, then every moving statistic. */
  get reduceSizes(): { d: number; g: number } {
    return { d: this.d.params.total + this.stats.total, g: this.g.params.total + this.stats.total };
  }

  /** Full states (parameters, then moving statistics) in `paramShapes` order. The generator's average starts there. */
  setWeights(generator: Float32Array, discriminator: Float32Array): void {
    this.assign(this.g.all, generator, 'generator');
    this.assign(this.d.all, discriminator, 'discriminator');
    this.average?.reset(this.g.all);
  }

  private assign(list: VarList, flat: Float32Array, what: string): void {
    if (flat.length !== list.total) throw new RangeError(`${what}: got ${flat.length} values, expected ${list.total}`);
    let offset = 0;
    list.vars.forEach((v, i) => {
      const size = list.sizes[i]!;
      this.tf.tidy(() => v.assign(this.tf.tensor(flat.subarray(offset, offset + size), list.shapes[i])));
      offset += size;
    });
  }

  async getWeights(): Promise<{ generator: Float32Array; discriminator: Float32Array }> {
    return { generator: await this.fuse(this.g.all.vars), discriminator: await this.fuse(this.d.all.vars) };
  }

  /**
   * Both optimizers' full state (FlatAdam.exportState), for checkpoints; the generator's ends with
   * its weight average when that is on, so checkpoints, joiners and the replica hash carry it.
   */
  async getOptimizerState(): Promise<{ generator: Float32Array; discriminator: Float32Array }> {
    const adam = await this.gOpt.exportState();
    const discriminator = await this.dOpt.exportState();
    return { generator: this.average ? withAverage(adam, await this.average.read()) : adam, discriminator };
  }

  /** A generator state without an average (an older checkpoint, or a run without one) starts the average at the current weights. */
  setOptimizerState(generator: Float32Array, discriminator: Float32Array): void {
    const adam = FlatAdam.stateSize(this.g.params.total);
    const average = averageInOptimizerState(generator, this.g.params.total, this.g.all.total);
    if (generator.length !== adam && !average) {
      throw new RangeError(`generator optimizer state has ${generator.length} values, expected ${adam} (Adam) or ${adam + this.g.all.total} (Adam and the weight average)`);
    }
    this.gOpt.importState(generator.subarray(0, adam));
    this.dOpt.importState(discriminator);
    if (average) this.average?.set(average);
    else this.average?.reset(this.g.all);
  }

  /** The generator's averaged state (what samples, evaluations and the exported model use), or undefined when averaging is off. */
  async getGeneratorAverage(): Promise<Float32Array | undefined> {
    return this.average?.read();
  }

  /** After step `step` is applied: the generator's average moves toward it (every few steps). */
  averageGenerator(step: number): void {
    this.average?.update(step, this.g.all);
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

  /**
   * Gradients, then the moving statistics, then `extra` (the losses), as one
   * tensor: one read-back per phase. The reduce gets a view of all but the extra.
   */
  private reduceBuffer(vars: Variable[], grads: Record<string, Tensor>, extra: Tensor[]): Tensor {
    return this.tf.concat([...vars.map((v) => grads[v.name]!.reshape([-1])), ...this.stats.vars.map((v) => v.reshape([-1])), ...extra]);
  }

  /**
   * The forward passes in training mode move this replica's statistics by its own
   * batch; apply() replaces them with the average. Kept until then, so that a
   * skipped update can undo them (a copy of the statistics only: a few hundred floats).
   */
  private keepStats(): void {
    this.dropStatsBefore();
    this.statsBefore = this.stats.vars.map((v) => this.tf.keep(v.clone()));
  }

  private dropStatsBefore(): void {
    if (this.statsBefore) this.tf.dispose(this.statsBefore);
    this.statsBefore = undefined;
  }

  /**
   * D loss = BCE(D(x), 1 − label smoothing) + BCE(D(G(z)), 0), gradients for D's parameters only.
   * `into`: memory for the gradients the reduce will read them from (GradientsInto), if it offers some.
   */
  async discriminatorGradients(images: Uint8Array, z: Float32Array, into?: GradientsInto): Promise<DiscriminatorResult> {
    this.keepStats();
    const phase = this.fused() ? fusedDiscriminatorLoss : layersDiscriminatorLoss;
    const flat = this.tf.tidy(() => {
      const { value, grads } = phase(this.tf, this.models(), this.d.params.vars, images, z);
      return this.reduceBuffer(this.d.params.vars, grads, [value]);
    });
    const { grads, extras } = await this.readPhase('d', flat, this.reduceSizes.d, into);
    return { loss: extras[0]!, dReal: extras[1]!, dFake: extras[2]!, grads };
  }

  /** Non-saturating G loss = BCE(D(G(z)), 1), gradients for G's parameters only. */
  async generatorGradients(z: Float32Array, into?: GradientsInto): Promise<GeneratorResult> {
    this.keepStats();
    // The fused buffer ends in [loss, mean D(G(z)), 0]; tfjs's in the loss alone.
    const phase = this.fused() ? fusedGeneratorLoss : layersGeneratorLoss;
    const flat = this.tf.tidy(() => {
      const { value, grads } = phase(this.tf, this.models(), this.g.params.vars, z);
      return this.reduceBuffer(this.g.params.vars, grads, [value]);
    });
    const { grads, extras } = await this.readPhase('g', flat, this.reduceSizes.g, into);
    return { loss: extras[0]!, grads };
  }

  /** A phase's buffer read back: its first `length` values (what the reduce averages: into the reduce's memory where it offers some), then the losses. */
  private async readPhase(key: 'd' | 'g', flat: Tensor, length: number, into?: GradientsInto): Promise<{ grads: Float32Array; extras: Float32Array }> {
    const target = into?.(length);
    if (target?.length === length) {
      const { head, rest } = await this.readBacks.readInto(key, flat, target);
      return { grads: head, extras: rest };
    }
    const all = await this.readBacks.read(key, flat);
    return { grads: all.subarray(0, length), extras: all.subarray(length) };
  }

  private models(): PhaseModels {
    return { generator: this.generator, discriminator: this.discriminator, specs: this.specs, latentDim: this.config.latentDim,
      realLabel: 1 - (this.config.labelSmoothing ?? 0) };
  }

  /**
   * Whether the active backend has the trainer's own forward, backward and loss kernels for these models (the
   * batch-norm op too where the generator has batch norm): webgpu (unless turned off) and the native CPU path.
   */
  private fused(): boolean {
    const backend = this.tf.getBackend();
    return hasDenseOp(this.tf) && this.tf.getKernel(GAN_LOSS_KERNEL, backend) !== undefined
      && (!this.generatorBatchNorm || this.tf.getKernel(BATCH_NORM_KERNEL, backend) !== undefined);
  }

  /** Step `step`'s discriminator update (the step sets the learning rate: lrSchedule.ts), or, when an averaged value is not finite, skipUpdate(): whether it applied. */
  applyDiscriminator(avg: Averaged, step: number): boolean {
    return this.apply(this.d, this.dOpt, avg, learningRateAt(this.config, step, 'discriminator'));
  }

  /** The same for the generator. */
  applyGenerator(avg: Averaged, step: number): boolean {
    return this.apply(this.g, this.gOpt, avg, learningRateAt(this.config, step, 'generator'));
  }

  /** Adam over the averaged gradients; the averaged moving statistics are assigned as they are. Every replica holds the same average, so every replica makes the same choice. */
  private apply(group: ParamGroup, opt: FlatAdam, avg: Averaged, lr: number): boolean {
    const n = group.params.total;
    const length = averagedLength(avg);
    if (length !== n + this.stats.total) throw new RangeError(`${group.model.name}: got ${length} reduced values, expected ${n + this.stats.total}`);
    const stats = this.stats.total > 0 ? averagedRange(avg, n, length) : undefined;
    if ((stats && !allFinite(stats)) || !updateParams(this.tf, group.params, opt, avg, lr)) {
      this.skipUpdate();
      return false;
    }
    if (stats) this.assign(this.stats, stats, 'moving statistics');
    this.dropStatsBefore();
    return true;
  }

  /**
   * The phase whose gradients were computed last is not applied (its average is
   * not finite, on every replica alike): its forward passes' local statistics are
   * undone too, so every replica keeps the same ones. Restoring is exact whatever
   * the average holds; assigning the averaged statistics would spread a NaN there.
   */
  skipUpdate(): void {
    const before = this.statsBefore;
    if (!before) throw new Error('skipUpdate without gradients computed');
    this.stats.vars.forEach((v, i) => v.assign(before[i]!));
    this.dropStatsBefore();
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

  /**
   * SHA-256 over all weights, batch-norm statistics and both optimizers' full state with the weight
   * average (what a checkpoint holds): the bytes of getWeights() then getOptimizerState(), in that
   * order, fed to the hash piece by piece from the tensors themselves. Building those vectors first
   * cost 15 MB of copies for the MLP at every check (readBack.ts says why garbage matters).
   */
  async stateHash(): Promise<string> {
    const h = createHash('sha256');
    const update = (bytes: Uint8Array): void => {
      h.update(bytes);
    };
    const optimizer = async (opt: FlatAdam, average?: Tensor): Promise<void> => {
      const { iterations, tensors } = opt.stateParts();
      update(new Uint8Array(iterations.buffer));
      for (const t of average ? [...tensors, average] : tensors) await withBytes(this.tf, t, update);
    };
    for (const v of [...this.g.all.vars, ...this.d.all.vars]) await withBytes(this.tf, v, update);
    await optimizer(this.gOpt, this.average?.tensor());
    await optimizer(this.dOpt);
    return h.digest('hex');
  }

  /**
   * Remembers the whole state (parameters, moving statistics, both optimizers) as
   * it is now. Costs no copy: tfjs tensors are immutable and updates repoint the
   * variables, so the snapshot only keeps the old data alive.
   */
  commit(): void {
    this.dropCommitted();
    const vars = [...this.g.all.vars, ...this.d.all.vars].map((v) => this.tf.keep(v.clone()));
    this.committed = { vars, g: this.gOpt.snapshot(), d: this.dOpt.snapshot(), average: this.average?.snapshot() };
  }

  /** Back to the state at the last commit(): an abandoned step leaves no trace. */
  rollback(): void {
    const c = this.committed;
    if (!c) throw new Error('rollback without a commit');
    [...this.g.all.vars, ...this.d.all.vars].forEach((v, i) => v.assign(c.vars[i]!));
    this.gOpt.restore(c.g);
    this.dOpt.restore(c.d);
    if (c.average) this.average?.restore(c.average);
    this.dropStatsBefore();
  }

  private dropCommitted(): void {
    if (!this.committed) return;
    this.tf.dispose([...this.committed.vars, ...this.committed.g.tensors, ...this.committed.d.tensors, ...(this.committed.average ? [this.committed.average] : [])]);
    this.committed = undefined;
  }

  dispose(): void {
    this.dropCommitted();
    this.dropStatsBefore();
    this.gOpt.dispose();
    this.dOpt.dispose();
    this.average?.dispose();
    this.generator.dispose();
    this.discriminator.dispose();
  }
}
