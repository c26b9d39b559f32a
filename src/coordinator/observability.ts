import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { Registry } from 'prom-client';
import type { TrainConfig } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import type { Tf } from '../shared/gan/tf.js';
import { HealthState } from '../shared/health.js';
import type { Logger } from '../shared/logger.js';
import { TraceBuilder } from '../shared/timeline.js';
import { type ObservabilityServer, startObservabilityServer } from '../shared/transport/httpServer.js';
import type { CoordinatorEvents } from './coordinator.js';
import { CoordinatorMetrics } from './metrics.js';
import type { Member } from './membership.js';
import { SampleWriter } from './samples.js';
import { coordinatorAddress, sdTargetGroups } from './serviceDiscovery.js';

export interface CoordinatorObservability {
  events: CoordinatorEvents;
  health: HealthState;
  metrics: CoordinatorMetrics;
  /** Renders the sample grids; exists once the coordinator has built the config. */
  samples(): SampleWriter | undefined;
  /** Writes the timeline (if asked for) and stops the HTTP server. */
  close(): Promise<void>;
}

/**
 * Everything the coordinator shows the outside while it runs: Prometheus
 * metrics, /healthz, Prometheus service discovery (/sd), the latest sample
 * grid over HTTP and on disk, and the Chrome trace of the workers' steps.
 */
export async function startCoordinatorObservability(opts: {
  tf: Tf;
  out: string;
  version: string;
  metrics: { host: string; port: number } | undefined;
  timeline: string | undefined;
  stallMs: number;
  logger: Logger;
}): Promise<CoordinatorObservability> {
  const { logger } = opts;
  const registry = new Registry();
  let dropped = (): number => 0;
  const metrics = new CoordinatorMetrics(registry, () => dropped());
  const health = new HealthState(opts.stallMs);
  health.set(true, 'waiting for workers');
  const trace = opts.timeline ? new TraceBuilder() : undefined;
  let samples: SampleWriter | undefined;
  let config: TrainConfig | undefined;
  // Sample grids are rendered one at a time, off the message handler, in step order.
  let sampling: Promise<unknown> = Promise.resolve();

  let members = (): readonly Member[] => [];

  let http: ObservabilityServer | undefined;
  if (opts.metrics) {
    const bound = opts.metrics;
    http = await startObservabilityServer({
      ...opts.metrics, registry, logger, health: () => health.check(),
      routes: {
        '/samples/latest.png': async () => (samples?.latest ? { type: 'image/png', body: samples.latest } : undefined),
        '/sd': async (req) => {
          const self = { address: coordinatorAddress(req.host, { host: bound.host, port: http!.port }, os.hostname()), host: os.hostname() };
          return { type: 'application/json', body: `${JSON.stringify(sdTargetGroups(self, members()))}\n` };
        },
      },
    });
    logger.log('info', `metrics on http://${opts.metrics.host === '0.0.0.0' ? '127.0.0.1' : opts.metrics.host}:${http.port}/metrics`, { metricsPort: http.port });
  }

  const events: CoordinatorEvents = {
    configured: (c) => {
      config = c;
      samples ??= new SampleWriter(opts.tf, c, opts.out);
    },
    listening: (droppedFrames) => { dropped = droppedFrames; },
    members: (current) => { members = current; },
    workersConnected: (count) => metrics.workersConnected.set(count),
    started: ({ backend }) => {
      if (config) metrics.setInfo({ version: opts.version, backend, arch: config.arch, allreduce: config.allreduce, compression: config.compression ?? 'none', worldSize: config.world });
      health.set(true, 'training', true);
    },
    stepCompleted: (done, info) => {
      metrics.step.set(done.step);
      metrics.epoch.set(info.epoch);
      metrics.generatorLoss.set(done.gLoss);
      metrics.discriminatorLoss.set(done.dLoss);
      metrics.realOutput.set(done.dReal);
      metrics.fakeOutput.set(done.dFake);
      metrics.images.inc(info.images);
      metrics.stepDuration.observe(info.stepSeconds);
      if (info.stepSeconds > 0) metrics.imagesPerSecond.set(info.images / info.stepSeconds);
      health.progress(`step ${done.step}`);
    },
    spans: (rank, step, spans) => trace?.add(rank, step, spans),
    sampleWeights: (step, weights) => {
      if (!samples) return;
      const writer = samples;
      sampling = sampling.then(() => writer.write(step, weights)).then((file) => {
        metrics.samples.inc();
        logger.log('info', `sample grid at step ${step}: ${file}`, { step, file });
      }, (err: unknown) => logger.log('warn', `sample grid at step ${step} failed: ${errorMessage(err)}`));
    },
    checkpointWritten: () => metrics.checkpoints.inc(),
    badStep: () => metrics.badSteps.inc(),
    workerFailed: () => metrics.workerFailures.inc(),
    workerLost: () => metrics.workersLost.inc(),
    membershipChanged: (c) => {
      metrics.membershipChanges.inc();
      metrics.workersJoined.inc(c.joined.length);
      metrics.generation.set(c.generation);
      metrics.stateBytesSent.inc(c.stateBytes);
    },
    replicaMismatch: () => metrics.hashMismatches.inc(),
  };

  return {
    events,
    health,
    metrics,
    samples: () => samples,
    async close() {
      await sampling;
      if (trace && opts.timeline) {
        try {
          writeFileSync(opts.timeline, JSON.stringify(trace));
          logger.log('info', `timeline: ${trace.size} spans in ${opts.timeline} (open in https://ui.perfetto.dev or chrome://tracing)`, { timeline: opts.timeline });
        } catch (err) {
          logger.log('warn', `could not write the timeline to ${opts.timeline}: ${errorMessage(err)}`);
        }
      }
      samples?.dispose();
      await http?.close();
    },
  };
}
