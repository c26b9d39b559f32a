import { WORKER_METRICS_PORTS } from './options.js';
import type { CoordinatorOptions } from '../coordinator/options.js';
import { type Slot, assignSlots, parseHosts } from '../coordinator/hostSlots.js';
import type { LaunchedProcesses, ProcessFailure } from '../coordinator/processes.js';
import { type SshTarget, checkSshFlags } from '../coordinator/sshCommand.js';
import { ConfigError } from '../shared/errors.js';
import { nonNegInt, port } from './flagChecks.js';
import type { Logger } from '../shared/logger.js';

/** How the coordinator starts its workers itself, if it does: --spawn (local) or --hosts (ssh); `maxRestarts` per slot. */
export type LaunchPlan = { maxRestarts: number } & (
  | { kind: 'spawn'; gpus: number[] }
  | { kind: 'ssh'; slots: Slot[]; target: Omit<SshTarget, 'host'>; advertise: string });

type Args = Record<string, unknown>;

const SSH_FLAGS = ['ssh-user', 'ssh-port', 'advertise'] as const;
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Validates the launch flags against each other; undefined: workers are started by someone else. */
export function launchPlan(a: Args, workers: number, advertiseDefault: () => string): LaunchPlan | undefined {
  if (a.spawnGpus !== undefined && !a.spawn) throw new ConfigError('--spawn-gpus only applies with --spawn');
  const maxRestarts = nonNegInt('max-restarts', a.maxRestarts ?? 0);
  if (maxRestarts > 0 && !a.spawn && a.hosts === undefined) throw new ConfigError('--max-restarts only applies with --spawn or --hosts');
  if (a.hosts === undefined) {
    const stray = SSH_FLAGS.find((f) => a[camel(f)] !== undefined);
    if (stray) throw new ConfigError(`--${stray} only applies with --hosts`);
    return a.spawn ? { kind: 'spawn', gpus: a.spawnGpus === undefined ? [] : gpuList(String(a.spawnGpus)), maxRestarts } : undefined;
  }
  if (a.spawn) throw new ConfigError('give --spawn or --hosts, not both');
  const sshPort = a.sshPort === undefined ? undefined : port('ssh-port', a.sshPort, false);
  const user = a.sshUser === undefined ? undefined : String(a.sshUser);
  if (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user)) throw new ConfigError(`--ssh-user must be a user name, got ${JSON.stringify(user)}`);
  const advertise = a.advertise === undefined ? advertiseDefault() : String(a.advertise);
  if (!/^[A-Za-z0-9.-]+$/.test(advertise)) throw new ConfigError(`--advertise must be a host name or IPv4 address, got ${JSON.stringify(advertise)}`);
  const sshCommand = String(a.sshCommand);
  const remoteTrainer = String(a.remoteTrainer);
  checkSshFlags(sshCommand, remoteTrainer);
  return {
    kind: 'ssh',
    slots: assignSlots(parseHosts(String(a.hosts)), workers),
    target: { sshCommand, remoteTrainer, ...(user === undefined ? {} : { user }), ...(sshPort === undefined ? {} : { port: sshPort }) },
    advertise,
    maxRestarts,
  };
}

/** `--spawn-gpus 0,1,2,3`. */
function gpuList(text: string): number[] {
  if (!/^\d+(,\d+)*$/.test(text)) throw new ConfigError(`--spawn-gpus must be GPU indexes separated by commas, like 0,1,2,3; got ${JSON.stringify(text)}`);
  return text.split(',').map(Number);
}

export interface LaunchContext {
  opts: CoordinatorOptions;
  /** The coordinator's endpoint on loopback (spawned workers use it; ssh ones get --advertise's). */
  endpoint: string;
  logFormat: string;
  verbose: boolean;
  /** The coordinator's metrics port, or undefined with --no-metrics. */
  metricsPort: number | undefined;
  keysDir: string | undefined;
  logger: Logger;
  onFailure: (f: ProcessFailure) => void;
}

/** Starts the planned workers. */
export async function startWorkers(plan: LaunchPlan, c: LaunchContext): Promise<LaunchedProcesses> {
  const common = ['--backend', c.opts.backend, ...(c.opts.threads !== undefined ? ['--threads', String(c.opts.threads)] : []), ...(c.verbose ? ['--verbose'] : [])];
  if (plan.kind === 'spawn') {
    const { spawnWorkers } = await import('../coordinator/spawn.js');
    // Spawned workers serve metrics next to the coordinator's port: 9401, 9402, ... by default.
    const args = (i: number): string[] => [
      ...common, '--log-format', c.logFormat,
      ...(c.metricsPort === undefined ? ['--no-metrics'] : ['--metrics-port', String(c.metricsPort === 0 ? 0 : c.metricsPort + 1 + i)]),
      ...(plan.gpus.length > 0 ? ['--gpu', String(plan.gpus[i % plan.gpus.length])] : []),
      ...(c.keysDir ? ['--curve-keys', c.keysDir, '--curve-name', 'worker'] : []),
    ];
    return spawnWorkers(c.opts.workers, c.endpoint, args, c.logger, c.onFailure, plan.maxRestarts);
  }
  const { launchOverSsh } = await import('../coordinator/sshLaunch.js');
  const port = c.endpoint.slice(c.endpoint.lastIndexOf(':') + 1);
  const args = (s: Slot): string[] => [
    'worker', '--coordinator', `tcp://${plan.advertise}:${port}`, ...common,
    // JSON lines: the launcher turns them back into records tagged with the rank.
    '--log-format', 'json', '--stop-on-stdin-close', '--rank', String(s.rank),
    // A host with one worker leaves the GPU to the backend's default (and a CPU host gets no warning about it).
    ...(s.onHost > 1 ? ['--gpu', String(s.local)] : []),
    // Workers sharing a host need ports of their own: 9401, 9402, ...
    ...(c.metricsPort === undefined ? ['--no-metrics'] : ['--metrics-port', String(WORKER_METRICS_PORTS.first + s.local)]),
    // Each host's own key pair, named after it (trainer keygen --name HOST), at the same path as here.
    ...(c.keysDir ? ['--curve-keys', c.keysDir, '--curve-name', s.host] : []),
  ];
  return launchOverSsh({ ...plan.target, slots: plan.slots, workerArgs: args, maxRestarts: plan.maxRestarts }, c.logger, c.onFailure);
}
