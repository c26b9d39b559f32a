import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../shared/config.js';
import { modelHash } from '../shared/config.js';
import { CoordinatorLostError, GenerationAborted, TrainerError, errorMessage } from '../shared/errors.js';
import { DEFAULT_SEGMENT_ELEMENTS, ringAllReduce } from '../shared/allreduce/ring.js';
import { fromWire, toWire, wireCodec } from '../shared/allreduce/compression.js';
import { hostId } from '../shared/hostId.js';
import { GanReplica } from '../shared/gan/replica.js';
import { selectBackend } from '../shared/gan/backend.js';
import { type GpuWorkCounts, countGpuWork, gpuWorkSince } from '../shared/gan/gpuWork.js';
import { tf } from '../shared/gan/tf.js';
import { type Reduce, trainStep } from '../shared/gan/trainStep.js';
import type { Logger } from '../shared/logger.js';
import { PROTOCOL_VERSION, type Shutdown, type Start } from '../shared/protocol.js';
import { RING_ZAP_DOMAIN, ZmqRingLink } from '../shared/transport/zmqRingLink.js';
import { PeerReduce } from './peerReduce.js';
import { probeSharedMemory } from '../shared/transport/sharedMemory.js';
import { localFeeder, stepBatch } from './localData.js';
import { startZapHandler } from '../shared/transport/zapHandler.js';
import type { CurveClient } from '../shared/security/curveKeys.js';
import type { HeartbeatOptions, HeartbeatReport } from './heartbeatThread.js';
import { ControlLink, ShutdownSignal } from './controlLink.js';
import { WorkerMetrics } from './metrics.js';
import { Registry } from 'prom-client';
import { HealthState } from '../shared/health.js';
import { StepStats } from './stepStats.js';
import { type FaultOptions, faultHooks } from './faults.js';
import { SpanRecorder } from '../shared/timeline.js';
import { afterStep, startRefusal } from './stepRules.js';
import { type ObservabilityServer, type PortChoice, reachableAt, startObservabilityServer } from '../shared/transport/httpServer.js';

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
  /** OpenBLAS threads of the native backend. */
  threads?: number;
  /** The rank to ask for in the first generation (a launcher's slot, a Kubernetes completion index). */
  rank?: number;
  /** How long to wait for the coordinator's first answer. */
  connectTimeoutMs: number;
  /** CURVE: this worker's key pair and the coordinator's public key; undefined: plain TCP. */
  curve?: CurveClient;
  /** Faults for tests to inject (faults.ts); none by default. */
  faults?: FaultOptions;
  /** Overrides the protocol version sent in the handshake (tests of version refusal). */
  protocolVersionOverride?: number;
  /** The shared-memory all-reduce's barriers as messages over the links even where the addon has the segment's barrier word (--shm-barrier message, to compare the two). */
  messageBarrier?: boolean;
  /** Where to serve /metrics and /healthz (the first free port of a range when none was chosen); undefined: not at all. */
  metrics?: PortChoice;
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
  const backend = await selectBackend(opts.backend, logger, { ...(opts.gpu !== undefined ? { gpu: opts.gpu } : {}), ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
  // Dispatches and read-backs per step, where the backend is tfjs's webgpu.
  const gpuWork = countGpuWork(tf.backend());
  let lastGpuWork: GpuWorkCounts | undefined;
  const control = new ControlLink(logger, opts.curve);
  const ring = new ZmqRingLink(logger, 60_000, opts.curve?.own);
  // Only the predecessor the coordinator names may connect to the ring port (known at start).
  let predecessorKey: string | undefined;
  // rhd and auto: any rank of the roster may send (to halving-doubling partners, to the probe's neighbour).
  let peerKeys = new Set<string>();
  const zap = opts.curve ? await startZapHandler((key, domain) => domain === RING_ZAP_DOMAIN && (key === predecessorKey || peerKeys.has(key)), logger, (key) => {
    logger.log('warn', `refused a CURVE client on the ring port: ${key ? `key ${key} is not this worker's predecessor` : 'no CURVE key'}`, { key });
  }) : undefined;
  const registry = new Registry();
  const metrics = new WorkerMetrics(registry, tf, () => control.dropped + ring.dropped);
  const health = new HealthState(60_000);
  health.set(false, 'joining the coordinator');
  let http: ObservabilityServer | undefined;
  let replica: GanReplica | undefined;
  /** Its shared-memory segment's name is unlinked on the way out. */
  let peerReduce: PeerReduce | undefined;
  let heartbeats: { stop(): Promise<void> } | undefined;
  let metricsAddress: string | undefined;
  try {
    if (opts.metrics) {
      http = await startObservabilityServer({ ...opts.metrics, registry, health: () => health.check(), logger });
      metricsAddress = reachableAt(opts.metrics.host, opts.advertise, http.port);
      const moved = http.port !== opts.metrics.port && opts.metrics.port !== 0 ? ` (port ${opts.metrics.port} was taken)` : '';
      logger.log('info', `metrics on http://${metricsAddress}/metrics${moved}`, { metricsPort: http.port });
    }
    const port = await ring.bind(`tcp://${opts.bindHost}:${opts.dataPort === 0 ? '*' : opts.dataPort}`);
    const dataEndpoint = `tcp://${opts.advertise}:${port}`;
    // Ranks of one host may all-reduce through shared memory (--allreduce shm, auto) where this maps.
    const shm = probeSharedMemory(opts.faults?.noSharedMemory ? () => { throw new Error('disabled by --fault-no-shm'); } : undefined, undefined,
      opts.messageBarrier ? '--shm-barrier message' : undefined);
    // A predecessor on this host connects here instead (the coordinator decides); without it, TCP as always.
    const ipc = await ring.bindIpc().then((ipcEndpoint) => ({ ipcEndpoint, hostId: hostId() }), (err: unknown) => logger.log('warn', `ring over TCP only: no ipc endpoint (${errorMessage(err)})`));
    control.connect(opts.coordinator);
    const welcome = await control.handshake({
      t: 'hello', v: (opts.protocolVersionOverride ?? PROTOCOL_VERSION) as typeof PROTOCOL_VERSION,
      backend: backend.name, host: os.hostname(), pid: process.pid, dataEndpoint, ...(backend.device ? { device: backend.device } : {}),
      ...(opts.curve ? { curvePublicKey: opts.curve.own.publicKey } : {}),
      ...(opts.rank !== undefined ? { rank: opts.rank } : {}),
      ...(metricsAddress ? { metricsAddress } : {}),
      ...ipc, ...('addon' in shm ? { sharedMemory: shm.domain } : {}),
    }, opts.connectTimeoutMs, opts.coordinator);
    const { config, id } = welcome;
    let log = logger.child({ worker: id });
    heartbeats = startHeartbeats({
      coordinator: opts.coordinator, id, session: welcome.session, intervalMs: config.heartbeatMs, timeoutMs: config.workerTimeoutMs, ...(opts.curve ? { curve: opts.curve } : {}),
    }, (silentMs) => {
      const err = new CoordinatorLostError(`no heartbeat from the coordinator at ${opts.coordinator} for ${(silentMs / 1000).toFixed(1)} s (--worker-timeout ${config.workerTimeoutMs / 1000} s): it is gone`);
      control.fail(err);
      ring.fail(err);
    });
    log.log('info', `registered as worker ${id} (up to ${config.world} workers)`, { dataEndpoint, nodeFlags: process.execArgv });
    // In an elastic run the coordinator judges a stalled collective (the step deadline, then an abort
    // that a stuck worker cannot answer: two --timeout periods); a waiting worker must not give up
    // first and be taken for the culprit. A fixed world fails either way, so the worker names the
    // peer it waited for.
    const collectiveTimeoutMs = config.minWorkers < config.world ? 3 * config.timeoutMs : config.timeoutMs;
    ring.timeoutMs = collectiveTimeoutMs;
    health.stallMs = config.timeoutMs;
    health.set(false, 'waiting for the run to start');

    replica = new GanReplica(tf, config);
    const ownData = localFeeder(config);
    if (ownData) log.log('info', `--data local: this worker cuts its own slices from ${config.dataExamples} examples of the bundled MNIST`);
    const codec = wireCodec(config.compression ?? 'none');
    if (config.allreduce === 'shm' || config.allreduce === 'auto') {
      if ('why' in shm) log.log('info', `no shared-memory all-reduce from this worker (${shm.why}): ranks on this host use their links`, { sharedMemory: false });
      else if (shm.barrier.kind === 'message') log.log('info', `shared-memory barriers as messages over the links (${shm.barrier.why})`, { sharedMemoryBarrier: 'message' });
    }
    const shmAddon = 'addon' in shm ? shm.addon : undefined;
    const segmentWord = 'addon' in shm && shm.barrier.kind === 'segment' ? shm.barrier.word : undefined;
    const peer = new PeerReduce(config.allreduce, replica.reduceSizes, () => log, shmAddon, codec, segmentWord);
    peerReduce = peer;
    ring.expect(peer.layout(config.world, DEFAULT_SEGMENT_ELEMENTS));
    await control.send({ t: 'ready', v: PROTOCOL_VERSION, modelHash: modelHash(config, replica.builtParamShapes()) });
    control.onAbort = (gen) => ring.abort(gen);

    // Generations: each start names this worker's rank, the ring and the step to continue after; an
    // abort (a worker lost, or one joining) rolls the replica back to its last completed step, and the
    // next start continues from there. Nothing of an abandoned step survives.
    /** The last step this replica completed (its committed state). */
    let completed = -1;
    let gen = 0;
    let rank = 0;
    let world = 1;
    // A joiner waits while the run goes on without it: up to a full rejoin wait plus a step.
    const startWaitMs = config.timeoutMs + config.rejoinTimeoutMs + config.workerTimeoutMs;
    let start = await control.waitStart(0, opts.connectTimeoutMs + startWaitMs);

    // A stopping coordinator (or one admitting a worker) asks for this replica's state after a step:
    // sent now if that step is done (the loop is then idle, waiting for a batch), else after it.
    let stateAfter: number | undefined;
    /** This replica's weights after `step` (sample grids), with both optimizers' state when it is for a checkpoint. */
    const sendState = async (step: number, forCheckpoint: boolean): Promise<void> => {
      const optimizers = forCheckpoint ? await replica!.getOptimizerState() : undefined;
      const generatorAverage = await replica!.getGeneratorAverage();
      await control.send({
        t: 'weights', v: PROTOCOL_VERSION, step, ...(await replica!.getWeights()),
        ...(optimizers ? { generatorOptimizer: optimizers.generator, discriminatorOptimizer: optimizers.discriminator } : {}),
        ...(generatorAverage ? { generatorAverage } : {}),
      });
    };
    let sending = Promise.resolve();
    control.onCheckpointRequest = (step) => {
      if (step > completed) stateAfter = step;
      else if (step === completed) sending = sending.then(() => sendState(step, true)).catch((err: unknown) => log.log('warn', `could not send this replica's state: ${errorMessage(err)}`));
      else log.log('warn', `asked for the state after step ${step}, but this replica is past it (step ${completed})`);
    };

    const faults = faultHooks(opts.faults);
    const link = faults.link(ring);
    const peerLink = faults.peerLink(ring);
    const stats = new StepStats();
    let starSent = 0;
    const averaged: Reduce = (step, phase, grads, times) => {
      if (world === 1) return Promise.resolve(grads);
      if (config.allreduce === 'ring') return ringAllReduce(grads, rank, world, link, step, phase, DEFAULT_SEGMENT_ELEMENTS, times, codec);
      if (peer.peerToPeer) {
        if (peer.sharedMemoryInUse) metrics.sharedMemoryBytes.inc(grads.byteLength);
        return peer.reduce(grads, rank, world, peerLink, step, phase, times);
      }
      return (async () => {
        const wire = toWire(grads, codec);
        await control.send({ t: 'grad', v: PROTOCOL_VERSION, gen, step, phase, data: wire });
        const reduced = (await control.waitReduced(gen, step, phase, collectiveTimeoutMs)).data;
        starSent += wire.byteLength;
        metrics.sentBytes.inc(wire.byteLength);
        metrics.receivedBytes.inc(reduced.byteLength);
        return fromWire(reduced, codec, `averaged gradients of step ${step} phase ${phase}`);
      })();
    };
    const reduce = faults.reduce(averaged);
    // Through shared memory, each phase reads its gradients back into the slot the all-reduce reads (no copy of its own).
    const gradientsInto = (length: number): Float32Array | undefined => (world > 1 && peer.peerToPeer ? peer.nextSlot(length) : undefined);
    const spans = new SpanRecorder(config.timeline);
    let finalHash: string | undefined;

    /** Adopts a generation: its rank, ring and starting state. */
    const adopt = (s: Start): void => {
      const refused = startRefusal(s, config, completed, opts.curve !== undefined);
      if (refused) throw new TrainerError('E_PROTOCOL', refused);
      if (s.generator && s.discriminator) {
        replica!.setWeights(s.generator, s.discriminator);
        if (s.generatorOptimizer && s.discriminatorOptimizer) replica!.setOptimizerState(s.generatorOptimizer, s.discriminatorOptimizer);
        completed = s.step;
      }
      replica!.commit();
      gen = s.gen;
      rank = s.rank;
      world = s.world;
      const next = (rank + 1) % world;
      const prev = (rank - 1 + world) % world;
      predecessorKey = s.ringKeys?.[prev];
      ring.begin(gen, s.step, world, prev, world > 1 ? { endpoint: s.ring[next]!, key: s.ringKeys?.[next] } : undefined);
      const peers = peer.roster(s);
      if (peer.peerToPeer && world > 1) ring.roster(rank, peers);
      peerKeys = new Set(peer.peerToPeer ? (s.ringKeys ?? []).filter((_, i) => i !== rank) : []);
      log = logger.child({ worker: id, rank });
      metrics.joined(rank, backend.name, backend.device ?? '');
      log.log('info', `generation ${gen}: rank ${rank} of ${world}, continuing after step ${s.step}${s.generator ? ' from the state sent' : ''}`, { gen, rank, world, step: s.step });
      if (control.aborted(gen)) throw new GenerationAborted(gen);
    };

    /** Steps until the end of the run (true) or until the generation is abandoned (a GenerationAborted). */
    const train = async (): Promise<void> => {
      health.set(true, 'training', true);
      // The first step of a generation always carries a hash, so a replica that took a wrong state is caught at once.
      let checkNow = true;
      for (let step = completed + 1; step <= config.steps; step++) {
        const waitStart = performance.now();
        const shipped = await control.waitBatch(gen, step, config.timeoutMs);
        const batch = stepBatch(shipped, ownData, rank, world);
        faults.stepStarted(step);
        const dataWaitMs = performance.now() - waitStart;
        if (dataWaitMs > 0.05) spans.add('data wait', waitStart, waitStart + dataWaitMs);
        const sentBefore = ring.bytesSent;
        const receivedBefore = ring.bytesReceived;
        const starBefore = starSent;
        const gpuBefore = gpuWork && { ...gpuWork };
        const r = await trainStep(replica!, config, batch, reduce, { spans, world, gradientsInto });
        if (gpuWork && gpuBefore) {
          lastGpuWork = gpuWorkSince(gpuBefore, gpuWork);
          metrics.observeGpuWork(lastGpuWork);
        }
        completed = step;
        replica!.commit();
        stats.record({ stepMs: performance.now() - waitStart, computeMs: r.computeMs, reduceMs: r.reduceMs, peerWaitMs: r.peerWaitMs, applyMs: r.applyMs, dataWaitMs, sentBytes: ring.bytesSent - sentBefore + starSent - starBefore });
        metrics.sentBytes.inc(ring.bytesSent - sentBefore);
        metrics.receivedBytes.inc(ring.bytesReceived - receivedBefore);
        metrics.observeStep(step, { ...r, dataWaitMs });
        health.progress(`step ${step} of ${config.steps}`);
        const last = step === config.steps;
        const next = afterStep(step, rank, config, checkNow, stateAfter);
        const hash = next.hash ? await replica!.stateHash() : undefined;
        checkNow = false;
        if (last) finalHash = hash;
        const taken = spans.take();
        await control.send({ t: 'stepDone', v: PROTOCOL_VERSION, step, ...r, dataWaitMs, ...(hash ? { hash } : {}), ...(taken.length > 0 ? { spans: taken } : {}), ...peer.takeReport() });
        // Rank 0 lends the coordinator its weights for sample grids, with the optimizers' state for checkpoints (the final ones go below).
        if (next.state) await sendState(step, next.state.forCheckpoint);
        if (step === 2 || last) log.log('debug', 'tensors held', { step, numTensors: tf.memory().numTensors });
      }
      health.set(true, 'training finished');
      if (rank === 0 && finalHash !== undefined) await sendState(config.steps, true);
    };

    let shutdown: Shutdown | undefined;
    while (!shutdown) {
      try {
        adopt(start);
        await train();
        shutdown = await control.waitShutdown(gen, config.timeoutMs + startWaitMs);
      } catch (err) {
        if (err instanceof ShutdownSignal && err.shutdown.ok) {
          // The run ended while this worker waited (a joiner not yet admitted) or trained: the coordinator has what it needs.
          shutdown = err.shutdown;
          break;
        }
        if (!(err instanceof GenerationAborted)) throw err;
        // Back to the last completed step; whatever the abandoned step did is undone.
        replica.rollback();
        log.log('info', `generation ${gen} abandoned by the coordinator; rolled back to step ${completed}`, { gen, step: completed });
        health.set(false, `waiting for generation ${gen + 1}`);
        await control.send({ t: 'aborted', v: PROTOCOL_VERSION, gen, completed });
        start = await control.waitStart(gen, startWaitMs);
      }
    }
    if (!shutdown.ok) throw new TrainerError('E_STOPPED', `coordinator stopped the run: ${shutdown.reason}`);
    log.log('info', 'training finished', { steps: config.steps, hash: finalHash, timing: stats.summary(), droppedFrames: control.dropped + ring.dropped, ...(lastGpuWork ? { lastStepGpuWork: lastGpuWork } : {}), peakRssBytes: process.resourceUsage().maxRSS * 1024 });
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
    peerReduce?.close();
    await ring.close();
    await control.close();
  }
}
