import { Counter, Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';

/** Step durations from tens of milliseconds (GPU) to a minute (CPU, large batches). */
const STEP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface RunInfo {
  version: string;
  backend: string;
  arch: string;
  allreduce: string;
  compression: string;
  worldSize: number;
}

/** The coordinator's metrics, registered in the registry it is given. */
export class CoordinatorMetrics {
  readonly step: Gauge;
  readonly epoch: Gauge;
  readonly generatorLoss: Gauge;
  readonly discriminatorLoss: Gauge;
  readonly realOutput: Gauge;
  readonly fakeOutput: Gauge;
  readonly images: Counter;
  readonly imagesPerSecond: Gauge;
  readonly stepDuration: Histogram;
  readonly workersConnected: Gauge;
  readonly workerFailures: Counter;
  readonly hashMismatches: Counter;
  readonly checkpoints: Counter;
  readonly badSteps: Counter;
  readonly samples: Counter;
  readonly workersLost: Counter;
  readonly workersJoined: Counter;
  readonly membershipChanges: Counter;
  readonly generation: Gauge;
  readonly stateBytesSent: Counter;
  private readonly fid: Gauge;
  private readonly fidBest: Gauge;
  private readonly evaluations: Counter;
  private readonly info: Gauge;

  constructor(registry: Registry, droppedFrames: () => number) {
    const registers = [registry];
    const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
    this.step = gauge('trainer_step', 'Last completed global training step.');
    this.epoch = gauge('trainer_epoch', 'Epoch of the last completed step (1-based).');
    this.generatorLoss = gauge('trainer_generator_loss', 'Generator loss of the last step, mean over workers.');
    this.discriminatorLoss = gauge('trainer_discriminator_loss', 'Discriminator loss of the last step, mean over workers.');
    this.realOutput = gauge('trainer_discriminator_real_output', 'Mean D(x) on real images in the last step (a probability).');
    this.fakeOutput = gauge('trainer_discriminator_fake_output', 'Mean D(G(z)) on generated images in the last step (a probability).');
    this.images = counter('trainer_images_processed_total', 'Training images processed, all workers together.');
    this.imagesPerSecond = gauge('trainer_images_per_second', 'Training throughput over the last step, all workers together.');
    this.stepDuration = new Histogram({ name: 'trainer_step_duration_seconds', help: 'Wall time between consecutive completed steps.', buckets: STEP_BUCKETS, registers });
    this.workersConnected = gauge('trainer_workers_connected', 'Workers registered with the coordinator (before training) or training in the current generation.');
    this.workerFailures = counter('trainer_worker_failures_total', 'Workers that reported a failure or exited abnormally.');
    this.hashMismatches = counter('trainer_replica_hash_mismatches_total', 'Replica-hash comparisons where the replicas differed.');
    this.checkpoints = counter('trainer_checkpoints_written_total', 'Training checkpoints (weights, optimizer state, step) written to OUT/checkpoints.');
    this.badSteps = counter('trainer_bad_steps_total', 'Steps whose averaged gradients held NaN or Infinity; the update was skipped on every replica.');
    this.workersLost = counter('trainer_workers_lost_total', 'Workers lost during training (silent, failed, or not answering).');
    this.workersJoined = counter('trainer_workers_joined_total', 'Workers admitted into a running job at a step boundary.');
    this.membershipChanges = counter('trainer_membership_changes_total', 'New generations formed after workers were lost or joined.');
    this.generation = gauge('trainer_generation', 'Membership generation: 1, plus one per change of the roster.');
    this.stateBytesSent = counter('trainer_state_sent_bytes_total', 'Bytes of replica state (weights, optimizer, batch-norm statistics) sent to workers that joined or fell behind.');
    this.fid = gauge('trainer_mnist_fid', 'MNIST-FID of the generator at the last --eval-every evaluation (classifier features; lower is better).');
    this.fidBest = gauge('trainer_mnist_fid_best', 'Best MNIST-FID of the run so far.');
    this.evaluations = counter('trainer_evaluations_total', 'MNIST-FID evaluations completed during training.');
    this.samples = counter('trainer_samples_written_total', 'Sample grids written to the output directory.');
    new Counter({
      name: 'trainer_dropped_frames_total', help: 'Control frames from workers dropped as malformed.', registers,
      collect() {
        this.reset();
        this.inc(droppedFrames());
      },
    });
    this.info = new Gauge({ name: 'trainer_info', help: 'The run: software version, backend, model, all-reduce mode, gradient compression and world size.', labelNames: ['version', 'backend', 'arch', 'allreduce', 'compression', 'world_size'], registers });
    collectDefaultMetrics({ register: registry });
  }

  observeEvaluation(fid: number, best: number): void {
    this.fid.set(fid);
    this.fidBest.set(best);
    this.evaluations.inc();
  }

  setInfo(info: RunInfo): void {
    this.info.reset();
    this.info.set({ version: info.version, backend: info.backend, arch: info.arch, allreduce: info.allreduce, compression: info.compression, world_size: String(info.worldSize) }, 1);
  }
}
