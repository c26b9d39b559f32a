import path from 'node:path';
import type { CoordinatorEvents } from '../coordinator/coordinator.js';
import type { LaunchedProcesses } from '../coordinator/processes.js';
import type { TrainingEval } from '../coordinator/trainingEval.js';
import { TrainerError, errorMessage } from '../shared/errors.js';
import { VERSION } from '../version.js';
import { defaultAdvertiseHost } from './advertiseHost.js';
import type { Command } from './command.js';
import { makeLogger } from './commandLogger.js';
import { coordinatorOptions } from './coordinatorOptions.js';
import { type Args, ensureWritableDir, keysDir, metricsEndpoint } from './flagChecks.js';
import { COMMAND_OPTIONS } from './options.js';
import { launchPlan, startWorkers } from './workerLaunch.js';

export const coordinatorCommand: Command = {
  name: 'coordinator',
  usage: 'coordinator',
  describe: 'own the data set, admit N workers and drive training',
  build: (y) => y.options(COMMAND_OPTIONS.coordinator)
    .example('$0 coordinator --workers 2 --spawn --steps 500', 'train with two local worker processes')
    .example('$0 coordinator --workers 4 --port 5555', 'wait for four workers started on other hosts'),
  run: runCoordinatorCommand,
};

async function runCoordinatorCommand(a: Args): Promise<number> {
  const { logger, format } = makeLogger(String(a.logFormat), 'coordinator', Boolean(a.verbose));
  const opts = coordinatorOptions(a);
  const plan = launchPlan(a, opts.workers, defaultAdvertiseHost);
  ensureWritableDir(opts.out);
  const { runCoordinator } = await import('../coordinator/coordinator.js');
  let launched: Promise<LaunchedProcesses> | undefined;
  let reportExit: ((slot: number, reason: string) => void) | undefined;
  const abort = new AbortController();
  const onSignal = (sig: string): void => abort.abort(new Error(`received ${sig}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const metrics = metricsEndpoint(a, opts.bind);
  if (opts.timeline) ensureWritableDir(path.dirname(opts.timeline));
  const { selectBackend } = await import('../shared/gan/backend.js');
  const { tf } = await import('../shared/gan/tf.js');
  const { saveGenerator, writeOutputs } = await import('../coordinator/outputs.js');
  const { TrainingEval } = await import('../coordinator/trainingEval.js');
  const { FEATURE_SIZE } = await import('../shared/eval/classifier.js');
  const { startCoordinatorObservability } = await import('../coordinator/observability.js');
  // The coordinator only renders samples and saves models: any backend will do, so never fail on the choice.
  await selectBackend(opts.backend === 'auto' || opts.backend === 'webgpu' || opts.backend === 'native' ? 'auto' : opts.backend, logger.child({ purpose: 'samples' }));
  const obs = await startCoordinatorObservability({ tf, out: opts.out, version: VERSION, metrics, timeline: opts.timeline, stallMs: opts.timeoutMs, logger });
  // Evaluations run in a thread of the coordinator: wasm there (WebGPU is the workers' business), or what was asked for on CPU.
  let evaluator: TrainingEval | undefined;
  let trainingSince = 0;
  const events: CoordinatorEvents = opts.evalEvery === 0 ? obs.events : {
    ...obs.events,
    configured: (c) => {
      obs.events.configured?.(c);
      evaluator = new TrainingEval({ arch: c.arch, latentDim: c.latentDim, count: opts.evalCount, seed: opts.seed, backend: opts.backend === 'tensorflow' || opts.backend === 'cpu' ? opts.backend : 'wasm', every: opts.evalEvery, featureSize: FEATURE_SIZE, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) },
        logger.child({ purpose: 'evaluation' }), (r) => obs.metrics.observeEvaluation(r.fid, evaluator?.best?.fid ?? r.fid));
    },
    started: (info) => {
      trainingSince = performance.now();
      obs.events.started?.(info);
    },
    evalWeights: (step, w) => evaluator?.submit(step, w.generator, (performance.now() - trainingSince) / 1000),
  };
  try {
    const result = await runCoordinator(opts, logger, {
      signal: abort.signal,
      events,
      onListening: (endpoint) => {
        if (!plan) return;
        launched = startWorkers(plan, {
          opts, endpoint, logFormat: format, verbose: Boolean(a.verbose), metricsPort: metrics?.port, keysDir: keysDir(a), logger,
          onFailure: ({ slot, message, restarting }) => {
            obs.metrics.workerFailures.inc();
            // The run loses it now, not after --worker-timeout of silence.
            reportExit?.(slot, message);
            // A restarted worker rejoins (the run waits up to --rejoin-timeout for it); an elastic run goes on
            // without it; a fixed world with no restarts left cannot go on.
            if (restarting) logger.log('warn', `${message}; starting it again`, { slot });
            else if (opts.minWorkers < opts.workers) logger.log('warn', `${message}; training continues with the others`, { slot });
            else abort.abort(new Error(message));
          },
        });
      },
      launchedExits: { subscribe: (listener) => { reportExit = listener; } },
    });
    if (evaluator) {
      evaluator.submit(result.config.steps, result.weights.generator, result.summary.trainSeconds);
      result.summary.evaluation = await evaluator.finish();
      const best = evaluator.best;
      if (opts.keepBest && best) {
        await saveGenerator(tf, path.join(opts.out, 'generator-best'), result.config, best.generator);
        logger.log('info', `best generator (MNIST-FID ${best.fid.toFixed(3)} at step ${best.step}) saved to ${path.join(opts.out, 'generator-best')}`, { step: best.step, fid: best.fid });
      }
    }
    await writeOutputs(tf, opts.out, result.config, result.weights, result.summary, obs.samples()!);
    obs.health.set(true, 'finished');
    const s = result.summary;
    logger.log('info', `done: ${s.steps} steps in ${s.trainSeconds.toFixed(1)} s, ${s.imagesPerSecond.toFixed(0)} img/s, d_loss ${s.final.dLoss.toFixed(4)}, g_loss ${s.final.gLoss.toFixed(4)}, replicas identical (${s.replicaHash.slice(0, 12)}…); outputs in ${opts.out}`, { out: opts.out, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
    if (launched) {
      const workers = await launched;
      workers.retire();
      const codes = await withTimeout(workers.exited, 15_000, 'launched workers did not exit');
      const bad = codes.flatMap((c, i) => (c === 0 ? [] : [`worker ${i} exited with ${c}`]));
      // An elastic run that finished has already recorded its lost workers (summary.json); only a fixed world fails on them.
      if (bad.length > 0 && opts.minWorkers === opts.workers) throw new TrainerError('E_WORKER', bad.join('; '));
    }
    return 0;
  } catch (err) {
    obs.health.set(false, `failed: ${errorMessage(err)}`);
    throw err;
  } finally {
    if (launched) {
      // Workers exit on their own after a shutdown; this only catches stragglers, and gives
      // ssh sessions a moment to close (which ends their remote workers) before this process exits.
      const workers = await launched;
      await withTimeout(workers.exited, 5_000, '').catch(async () => {
        workers.kill();
        await withTimeout(workers.exited, 3_000, '').catch(() => {});
      });
    }
    await evaluator?.close();
    await obs.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new TrainerError('E_TIMEOUT', message)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}
