import { Counter, Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';
import type { GpuWorkCounts } from '../shared/gan/gpuWork.js';
import type { Tf } from '../shared/gan/tf.js';

/** Per-step phase durations: sub-millisecond all-reduces to multi-second CPU steps. */
const PHASE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface StepTimes {
  computeMs: number;
  reduceMs: number;
  applyMs: number;
  dataWaitMs: number;
  peerWaitMs: number;
}

/** One worker's metrics; every series carries the worker's rank once it is known. */
export class WorkerMetrics {
  private readonly step: Gauge;
  private readonly compute: Histogram;
  private readonly allreduce: Histogram;
  private readonly apply: Histogram;
  private readonly dataWait: Histogram;
  private readonly peerWait: Histogram;
  readonly sentBytes: Counter;
  readonly receivedBytes: Counter;
  readonly sharedMemoryBytes: Counter;
  private readonly info: Gauge;
  private readonly gpuDispatches: Counter;
  private readonly gpuReadbacks: Counter;
  private readonly gpuDispatchesPerStep: Gauge;
  private readonly gpuReadbacksPerStep: Gauge;

  constructor(private readonly registry: Registry, tf: Tf, droppedFrames: () => number = () => 0) {
    const registers = [registry];
    const histogram = (name: string, help: string): Histogram => new Histogram({ name, help, buckets: PHASE_BUCKETS, registers });
    this.step = new Gauge({ name: 'trainer_worker_step', help: 'Last step this worker completed.', registers });
    this.compute = histogram('trainer_worker_compute_seconds', 'Forward and backward passes of both models in one step.');
    this.allreduce = histogram('trainer_worker_allreduce_seconds', 'Both gradient all-reduces of one step, waiting included.');
    this.apply = histogram('trainer_worker_apply_seconds', 'Both optimizer updates of one step.');
    this.dataWait = histogram('trainer_worker_data_wait_seconds', 'Time a step waited for its batch from the coordinator.');
    this.peerWait = histogram('trainer_worker_peer_wait_seconds', 'Time the all-reduces of one step waited for the slowest peer.');
    this.sentBytes = new Counter({ name: 'trainer_allreduce_sent_bytes_total', help: 'Bytes this worker sent for all-reduces.', registers });
    this.receivedBytes = new Counter({ name: 'trainer_allreduce_received_bytes_total', help: 'Bytes this worker received for all-reduces.', registers });
    // Shared memory moves no bytes over a socket: the gradients this rank puts into the segment are counted apart.
    this.sharedMemoryBytes = new Counter({ name: 'trainer_allreduce_shared_memory_bytes_total', help: 'Bytes of gradients this worker wrote into a shared-memory all-reduce segment (ranks on one host).', registers });
    new Gauge({ name: 'trainer_tfjs_tensors', help: 'Tensors held by TensorFlow.js.', registers, collect() { this.set(tf.memory().numTensors); } });
    new Gauge({ name: 'trainer_tfjs_bytes', help: 'Bytes held by TensorFlow.js tensors.', registers, collect() { this.set(tf.memory().numBytes); } });
    new Counter({ name: 'trainer_worker_dropped_frames_total', help: 'Frames from the coordinator or the ring predecessor that failed validation or came out of step, and were dropped.', registers, collect() { this.reset(); this.inc(droppedFrames()); } });
    this.info = new Gauge({ name: 'trainer_worker_info', help: 'The TensorFlow.js backend this worker uses, and its device where known.', labelNames: ['backend', 'device'], registers });
    this.gpuDispatches = new Counter({ name: 'trainer_gpu_dispatches_total', help: 'GPU program dispatches of the training steps (webgpu backend only).', registers });
    this.gpuReadbacks = new Counter({ name: 'trainer_gpu_readbacks_total', help: 'GPU-to-CPU read-backs of the training steps (webgpu backend only).', registers });
    this.gpuDispatchesPerStep = new Gauge({ name: 'trainer_gpu_dispatches_per_step', help: 'GPU program dispatches of the last step (webgpu backend only).', registers });
    this.gpuReadbacksPerStep = new Gauge({ name: 'trainer_gpu_readbacks_per_step', help: 'GPU-to-CPU read-backs of the last step (webgpu backend only).', registers });
    collectDefaultMetrics({ register: registry });
  }

  /** The rank is known only after joining; from then on every series carries it. */
  joined(rank: number, backend: string, device: string): void {
    this.registry.setDefaultLabels({ rank: String(rank) });
    this.info.reset();
    this.info.set({ backend, device }, 1);
  }

  observeStep(step: number, t: StepTimes): void {
    this.step.set(step);
    this.compute.observe(t.computeMs / 1000);
    this.allreduce.observe(t.reduceMs / 1000);
    this.apply.observe(t.applyMs / 1000);
    this.dataWait.observe(t.dataWaitMs / 1000);
    this.peerWait.observe(t.peerWaitMs / 1000);
  }

  /** The GPU work of one step (gpuWork.ts), on a backend that counts it. */
  observeGpuWork(w: GpuWorkCounts): void {
    this.gpuDispatches.inc(w.dispatches);
    this.gpuReadbacks.inc(w.readbacks);
    this.gpuDispatchesPerStep.set(w.dispatches);
    this.gpuReadbacksPerStep.set(w.readbacks);
  }
}
