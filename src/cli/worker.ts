import path from 'node:path';
import type { BackendName } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { readKey, readKeyPair } from '../shared/security/curveKeys.js';
import { defaultAdvertiseHost } from './advertiseHost.js';
import type { Command } from './command.js';
import { makeLogger } from './commandLogger.js';
import { type Args, inRange, keysDir, metricsEndpoint, nonNegInt, port, positiveInt } from './flagChecks.js';
import { COMMAND_OPTIONS, WORKER_METRICS_PORTS } from './options.js';

export const workerCommand: Command = {
  name: 'worker',
  usage: 'worker',
  describe: 'join a coordinator and train one replica',
  build: (y) => y.options(COMMAND_OPTIONS.worker)
    .example('$0 worker --coordinator tcp://10.0.0.1:5555', 'join a run'),
  run: runWorkerCommand,
};

async function runWorkerCommand(a: Args): Promise<number> {
  const { logger } = makeLogger(String(a.logFormat), 'worker', Boolean(a.verbose));
  const endpoint = String(a.coordinator);
  if (!/^tcp:\/\/[^\s/:]+(:\d+)$/.test(endpoint) && !/^tcp:\/\/\[[0-9a-fA-F:]+\]:\d+$/.test(endpoint)) {
    throw new ConfigError(`--coordinator must look like tcp://HOST:PORT, got ${JSON.stringify(endpoint)}`);
  }
  port('coordinator port', Number(endpoint.slice(endpoint.lastIndexOf(':') + 1)), false);
  const keys = keysDir(a);
  if (a.stopOnStdinClose) {
    // Launched over ssh: the session's end (the coordinator stopped it, or died) closes our stdin.
    process.stdin.on('end', () => {
      logger.log('warn', 'standard input closed (--stop-on-stdin-close): the launcher is gone, exiting');
      process.exit(1);
    }).resume();
  }
  const { runWorker } = await import('../worker/worker.js');
  await runWorker({
    coordinator: endpoint,
    advertise: String(a.advertise ?? defaultAdvertiseHost()),
    bindHost: String(a.bindHost),
    dataPort: port('data-port', a.dataPort, true),
    backend: a.backend as BackendName,
    ...(a.gpu !== undefined ? { gpu: nonNegInt('gpu', a.gpu) } : {}),
    ...(a.threads !== undefined ? { threads: positiveInt('threads', a.threads) } : {}),
    ...(a.rank !== undefined ? { rank: nonNegInt('rank', a.rank) } : {}),
    connectTimeoutMs: Math.round(inRange('connect-timeout', a.connectTimeout, 0, 86400, true, false) * 1000),
    ...(a.protocolVersion !== undefined ? { protocolVersionOverride: nonNegInt('protocol-version', a.protocolVersion) } : {}),
    ...(a.shmBarrier === 'message' ? { messageBarrier: true } : {}),
    faults: {
      ...(a.faultNanStep !== undefined ? { nanStep: positiveInt('fault-nan-step', a.faultNanStep) } : {}),
      ...(a.faultKillStep !== undefined ? { killStep: positiveInt('fault-kill-step', a.faultKillStep) } : {}),
      ...(a.faultHangStep !== undefined ? { hangStep: positiveInt('fault-hang-step', a.faultHangStep) } : {}),
      ...(a.faultNoShm === true ? { noSharedMemory: true } : {}),
    },
    ...(keys !== undefined ? { curve: { own: readKeyPair(keys, String(a.curveName)), serverPublicKey: readKey(path.join(keys, 'coordinator.pub')) } } : {}),
    metrics: metricsEndpoint(a, String(a.bindHost), WORKER_METRICS_PORTS),
  }, logger);
  return 0;
}
