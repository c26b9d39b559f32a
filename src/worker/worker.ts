import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../shared/config.js';
import { modelHash } from '../shared/config.js';
import { CoordinatorLostError, TrainerError, errorMessage } from '../shared/errors.js';
import { ringAllReduce } from '../shared/allreduce/ring.js';
import { GanReplica } from '../shared/gan/replica.js';
import { selectBackend } from '../shared/gan/backend.js';
import { tf } from '../shared/gan/tf.js';
import { type Reduce, trainStep } from '../shared/gan/trainStep.js';
import type { Logger } from '../shared/logger.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';
import { RING_ZAP_DOMAIN, ZmqRingLink } from '../shared/transport/zmqRingLink.js';
import { startZapHandler } from '../shared/transport/zapHandler.js';
import type { CurveClient } from '../shared/security/curveKeys.js';
import type { HeartbeatOptions, HeartbeatReport } from './heartbeatThread.js';
import { ControlLink, ShutdownSignal } from './controlLink.js';
import { WorkerMetrics } from './metrics.js';
import { Registry } from 'prom-client';
import { HealthState } from '../shared/health.js';
import { SpanRecorder } from '../shared/timeline.js';
import { type ObservabilityServer, startObservabilityServer } from '../shared/transport/httpServer.js';

export interface WorkerOptions {
  coordinator: string;
  /** Host name or address other workers use to reach this one's data port. */
  advertise: string;
  /** Interface the data port binds to. */
  bindHost: string;
  dataPort: number;
  backend: BackendName;
  /** GPU index for the tensorflow and webgpu backends. */
  gpu?: number;
  /** How long to wait for the coordinator's first answer. */
  connectTimeoutMs: number;
  /** CURVE: this worker's key pair and the coordinator's public key; undefined: plain TCP. */
  curve?: CurveClient;
  /** Tests of bad-gradient handling: this worker's discriminator gradients at this step become NaN. */
  faultNanStep?: number;
  /** Overrides the protocol version sent in the handshake (tests of version refusal). */
  protocolVersionOverride?: number;
  /** Where to serve /metrics and /healthz; undefined: not at all. */
  metrics?: { host: string; port: number };
}

export interface WorkerResult {
  rank: number;
  steps: number;
  finalHash: string | undefined;
}

/** The heartbeat thread (heartbeatThread.ts); `onLost` runs if the coordinator goes silent. */
function startHeartbeats(options: HeartbeatOptions, onLost: (silentMs: number) => void): { stop(): Promise<void> } {
  const thread = new Worker(new URL('./heartbeatThread.js', import.meta.url), { workerData: options });
  thread.on('message', (m: HeartbeatReport) => {
    if (m.kind === 'coordinatorLost') onLost(m.silentMs);
  });
  return {
    async stop() {
      thread.postMessage('stop');
      const timer = setTimeout(() => void thread.terminate(), 1000);
      await new Promise((resolve) => thread.once('exit', resolve));
      clearTimeout(timer);
    },
  };
}

/**
 * One replica: handshake, receive initial weights and the ring, then train
 * the steps the coordinator feeds until it says stop.
 */
export async function runWorker(opts: WorkerOptions, logger: Logger): Promise<WorkerResult> {
  const backend = await selectBackend(opts.backend, logger, opts.gpu === undefined ? {} : { gpu: opts.gpu });
  const control = new ControlLink(logger, opts.curve);
  const ring = new ZmqRingLink(logger, 60_000, opts.curve?.own);
  // Only the predecessor the coordinator names may connect to the ring port (known at start).
  let predecessorKey: string | undefined;
  const zap = opts.curve ? await startZapHandler((key, domain) => domain === RING_ZAP_DOMAIN && key === predecessorKey, logger, (key) => {
    logger.log('warn', `refused a CURVE client on the ring port: ${key ? `key ${key} is not this worker's predecessor` : 'no CURVE key'}`, { key });
  }) : undefined;
  const registry = new Registry();
  const metrics = new WorkerMetrics(registry, tf, () => control.dropped + ring.dropped);
  const health = new HealthState(60_000);
  health.set(false, 'joining the coordinator');
  let http: ObservabilityServer | undefined;
  let replica: GanReplica | undefined;
  let heartbeats: { stop(): Promise<void> } | undefined;
  try {
    if (opts.metrics) {
      http = await startObservabilityServer({ ...opts.metrics, registry, health: () => health.check(), logger });
      logger.log('info', `metrics on http://${opts.metrics.host === '0.0.0.0' ? opts.advertise : opts.metrics.host}:${http.port}/metrics`, { metricsPort: http.port });
    }
    const port = await ring.bind(`tcp://${opts.bindHost}:${opts.dataPort === 0 ? '*' : opts.dataPort}`);
    const dataEndpoint = `tcp://${opts.advertise}:${port}`;
    control.connect(opts.coordinator);
    await control.send({
      t: 'hello', v: (opts.protocolVersionOverride ?? PROTOCOL_VERSION) as typeof PROTOCOL_VERSION,
      backend: backend.name, host: os.hostname(), pid: process.pid, dataEndpoint, ...(backend.device ? { device: backend.device } : {}),
      ...(opts.curve ? { curvePublicKey: opts.curve.own.publicKey } : {}),
    });
    const welcome = await control.waitWelcome(opts.connectTimeoutMs, opts.coordinator);
    const { config, rank } = welcome;
    const log = logger.child({ rank });
    heartbeats = startHeartbeats({
      coordinator: opts.coordinator, rank, session: welcome.session, intervalMs: config.heartbeatMs, timeoutMs: config.workerTimeoutMs, ...(opts.curve ? { curve: opts.curve } : {}),
    }, (silentMs) => {
      const err = new CoordinatorLostError(`no heartbeat from the coordinator at ${opts.coordinator} for ${(silentMs / 1000).toFixed(1)} s (--worker-timeout ${config.workerTimeoutMs / 1000} s): it is gone`);
      control.fail(err);
      ring.fail(err);
    });
    log.log('info', `joined as rank ${rank} of ${config.world}`, { dataEndpoint });
    ring.timeoutMs = config.timeoutMs;
    metrics.joined(rank, backend.name, backend.device ?? '');
    health.stallMs = config.timeoutMs;
    health.set(false, 'waiting for the run to start');

    replica = new GanReplica(tf, config);
    await control.send({ t: 'ready', v: PROTOCOL_VERSION, modelHash: modelHash(config, replica.builtParamShapes()) });
    const start = await control.waitStart(config.timeoutMs);
    replica.setWeights(start.generator, start.discriminator);
    if (start.generatorOptimizer && start.discriminatorOptimizer) replica.setOptimizerState(start.generatorOptimizer, start.discriminatorOptimizer);
    if (start.step >= config.steps) throw new TrainerError('E_PROTOCOL', `told to start after step ${start.step} of ${config.steps}`);
    if (start.step > 0) log.log('info', `resuming after step ${start.step}`, { step: start.step });
    ring.stepsDone = start.step;
    if (config.world > 1) {
      if (start.ring.length !== config.world) throw new TrainerError('E_PROTOCOL', `ring lists ${start.ring.length} endpoints for a world of ${config.world}`);
      const next = (rank + 1) % config.world;
      const prev = (rank - 1 + config.world) % config.world;
      if (opts.curve && start.ringKeys?.length !== config.world) throw new TrainerError('E_PROTOCOL', 'this worker uses CURVE but the coordinator sent no ring keys (start it with --curve-keys too)');
      predecessorKey = start.ringKeys?.[prev];
      ring.connect(start.ring[next]!, prev, start.ringKeys?.[next]);
    }

    const averaged: Reduce = config.world === 1
      ? async (_s, _p, grads) => grads
      : config.allreduce === 'ring'
        ? (step, phase, grads, times) => ringAllReduce(grads, rank, config.world, ring, step, phase, undefined, times)
        : async (step, phase, grads) => {
          await control.send({ t: 'grad', v: PROTOCOL_VERSION, step, phase, data: grads });
          const reduced = (await control.waitReduced(step, phase, config.timeoutMs)).data;
          metrics.sentBytes.inc(grads.byteLength);
          metrics.receivedBytes.inc(reduced.byteLength);
          return reduced;
        };

    // A stopping coordinator asks rank 0 for its state after the last step it shipped: send it
    // now if that step is done (the loop is then idle, waiting for a batch that will not come), else after it.
    let completed = start.step;
    let checkpointAfter: number | undefined;
    /** Rank 0's weights after `step` (sample grids), with both optimizers' state when it is for a checkpoint. */
    const sendState = async (step: number, forCheckpoint: boolean): Promise<void> => {
      const optimizers = forCheckpoint ? await replica!.getOptimizerState() : undefined;
      await control.send({
        t: 'weights', v: PROTOCOL_VERSION, step, ...(await replica!.getWeights()),
        ...(optimizers ? { generatorOptimizer: optimizers.generator, discriminatorOptimizer: optimizers.discriminator } : {}),
      });
    };
    control.onCheckpointRequest = (step) => {
      if (rank !== 0) return;
      if (step > completed) checkpointAfter = step;
      else if (step === completed) sendState(step, true).catch((err: unknown) => log.log('warn', `could not send the state for a checkpoint: ${errorMessage(err)}`));
    };

    const reduce: Reduce = opts.faultNanStep === undefined ? averaged : (step, phase, grads, times) => {
      if (step === opts.faultNanStep && phase === 'd') grads[0] = Number.NaN;
      return averaged(step, phase, grads, times);
    };
    const spans = new SpanRecorder(config.timeline);
    health.set(true, 'training', true);
    let finalHash: string | undefined;
    for (let step = start.step + 1; step <= config.steps; step++) {
      const waitStart = performance.now();
      const batch = await control.waitBatch(step, config.timeoutMs);
      const dataWaitMs = performance.now() - waitStart;
      if (dataWaitMs > 0.05) spans.add('data wait', waitStart, waitStart + dataWaitMs);
      const sentBefore = ring.bytesSent;
      const receivedBefore = ring.bytesReceived;
      const r = await trainStep(replica, config, batch, reduce, spans);
      completed = step;
      metrics.sentBytes.inc(ring.bytesSent - sentBefore);
      metrics.receivedBytes.inc(ring.bytesReceived - receivedBefore);
      metrics.observeStep(step, { ...r, dataWaitMs });
      health.progress(`step ${step} of ${config.steps}`);
      const last = step === config.steps;
      const hash = last || step % config.checkEvery === 0 ? await replica.stateHash() : undefined;
      if (last) finalHash = hash;
      const taken = spans.take();
      await control.send({ t: 'stepDone', v: PROTOCOL_VERSION, step, ...r, dataWaitMs, ...(hash ? { hash } : {}), ...(taken.length > 0 ? { spans: taken } : {}) });
      // Rank 0 lends the coordinator its weights for sample grids, with the optimizers' state for checkpoints (the final ones go below).
      const checkpoint = config.checkpointEvery > 0 && step % config.checkpointEvery === 0;
      if (rank === 0 && !last && (checkpoint || checkpointAfter === step || (config.sampleEvery > 0 && step % config.sampleEvery === 0))) {
        await sendState(step, checkpoint || checkpointAfter === step);
      }
      if (step === 2 || last) log.log('debug', 'tensors held', { step, numTensors: tf.memory().numTensors });
    }
    health.set(true, 'training finished');
    if (rank === 0) await sendState(config.steps, true);
    const shutdown = await control.waitShutdown(config.timeoutMs);
    if (!shutdown.ok) throw new TrainerError('E_STOPPED', `coordinator stopped the run: ${shutdown.reason}`);
    log.log('info', 'training finished', { steps: config.steps, hash: finalHash, droppedFrames: control.dropped + ring.dropped, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
    return { rank, steps: config.steps, finalHash };
  } catch (err) {
    if (err instanceof ShutdownSignal && !err.shutdown.ok) throw new TrainerError('E_STOPPED', err.message);
    // Tell the coordinator why, so the run stops everywhere instead of timing out.
    if (!(err instanceof ShutdownSignal) && control.connected) {
      const code = err instanceof TrainerError ? err.code : 'E_WORKER';
      await Promise.race([
        control.send({ t: 'failure', v: PROTOCOL_VERSION, code, message: errorMessage(err).slice(0, 4000) }).catch(() => undefined),
        new Promise((r) => setTimeout(r, 500)),
      ]);
    }
    health.set(false, `failed: ${errorMessage(err)}`);
    throw err;
  } finally {
    await heartbeats?.stop();
    zap?.close();
    await http?.close();
    replica?.dispose();
    await ring.close();
    await control.close();
  }
}
