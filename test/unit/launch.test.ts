import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { assignSlots, parseHosts } from '../../src/coordinator/hostSlots.js';
import { sshArgv } from '../../src/coordinator/sshCommand.js';
import { remoteLogRecord } from '../../src/coordinator/sshLaunch.js';
import { launchEnv, launchProcesses } from '../../src/coordinator/processes.js';
import { silentLogger } from '../../src/shared/logger.js';
import { StepStats } from '../../src/worker/stepStats.js';
import { launchPlan } from '../../src/cli/workerLaunch.js';
import { ConfigError } from '../../src/shared/errors.js';
import { createSink } from '../../src/cli/logFormat.js';

test('--hosts: HOST[:SLOTS] by commas; ranks fill the hosts in order, each slot with its local index', () => {
  assert.deepEqual(parseHosts('gpu1:2,gpu2:2'), [{ host: 'gpu1', slots: 2 }, { host: 'gpu2', slots: 2 }]);
  assert.deepEqual(parseHosts('10.0.0.7, b'), [{ host: '10.0.0.7', slots: 1 }, { host: 'b', slots: 1 }]);
  assert.deepEqual(assignSlots(parseHosts('gpu1:2,gpu2:2'), 3), [
    { rank: 0, host: 'gpu1', local: 0, onHost: 2 }, { rank: 1, host: 'gpu1', local: 1, onHost: 2 }, { rank: 2, host: 'gpu2', local: 0, onHost: 1 },
  ]);
  for (const [bad, why] of [['gpu1:0', /1 to 1024 slots/], ['gpu1:x', /not HOST or HOST:SLOTS/], ['-oProxyCommand=x', /not HOST/], ['a,,b', /not HOST/], ['a:1,a:1', /listed twice/], ['fe80::1', /not HOST/]] as const) {
    assert.throws(() => parseHosts(bad), (e: unknown) => e instanceof ConfigError && why.test(e.message), bad);
  }
  assert.throws(() => assignSlots(parseHosts('a:1,b:2'), 4), /--hosts has 3 slots for --workers 4/);
});

test('the ssh command line: options, BatchMode, port, user, then the host and one quoted remote command', () => {
  const { file, args } = sshArgv({ sshCommand: 'ssh -i "/keys/my key" -o StrictHostKeyChecking=accept-new', user: 'ml', port: 2222, host: 'gpu1', remoteTrainer: 'npx trainer' },
    ['worker', '--coordinator', 'tcp://10.0.0.1:5555', '--curve-keys', '/k $(rm -rf ~)']);
  assert.equal(file, 'ssh');
  assert.deepEqual(args.slice(0, -1), ['-i', '/keys/my key', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes', '-p', '2222', '-l', 'ml', '--', 'gpu1']);
  // A real shell splits the remote command back into exactly these words: nothing a flag holds is expanded.
  const remote = args.at(-1)!;
  assert.match(remote, /^exec npx trainer /);
  const words = execFileSync('sh', ['-c', `printf '%s\\n' ${remote.slice('exec '.length)}`], { encoding: 'utf8' }).trimEnd().split('\n');
  assert.deepEqual(words, ['npx', 'trainer', 'worker', '--coordinator', 'tcp://10.0.0.1:5555', '--curve-keys', '/k $(rm -rf ~)']);
  assert.throws(() => sshArgv({ sshCommand: 'ssh | tee log', host: 'h', remoteTrainer: 'trainer' }, []), /--ssh-command must be a command and its arguments/);
  assert.throws(() => sshArgv({ sshCommand: 'ssh', host: 'h', remoteTrainer: 'trainer > /tmp/x' }, []), /--remote-trainer/);
});

test('launch flags are checked against each other before anything starts', () => {
  const ip = (): string => '10.0.0.1';
  assert.equal(launchPlan({}, 2, ip), undefined);
  assert.deepEqual(launchPlan({ spawn: true, spawnGpus: '0,1' }, 2, ip), { kind: 'spawn', gpus: [0, 1], maxRestarts: 0 });
  assert.equal(launchPlan({ spawn: true, maxRestarts: 2 }, 2, ip)?.maxRestarts, 2);
  assert.throws(() => launchPlan({ maxRestarts: 1 }, 2, ip), /--max-restarts only applies with --spawn or --hosts/);
  assert.throws(() => launchPlan({ spawn: true, maxRestarts: -1 }, 2, ip), /--max-restarts must be a non-negative integer, got -1/);
  const plan = launchPlan({ hosts: 'a:2', sshCommand: 'ssh', remoteTrainer: 'trainer', sshUser: 'u' }, 2, ip);
  assert.ok(plan?.kind === 'ssh');
  assert.equal(plan.advertise, '10.0.0.1');
  assert.deepEqual(plan.target, { sshCommand: 'ssh', remoteTrainer: 'trainer', user: 'u' });
  assert.equal(plan.slots.length, 2);
  assert.throws(() => launchPlan({ hosts: 'a:2', spawn: true, sshCommand: 'ssh', remoteTrainer: 'trainer' }, 2, ip), /--spawn or --hosts, not both/);
  assert.throws(() => launchPlan({ sshUser: 'u' }, 2, ip), /--ssh-user only applies with --hosts/);
  assert.throws(() => launchPlan({ spawnGpus: '0' }, 2, ip), /--spawn-gpus only applies with --spawn/);
  assert.throws(() => launchPlan({ hosts: 'a', sshPort: 0, sshCommand: 'ssh', remoteTrainer: 'trainer' }, 1, ip), /--ssh-port must be a TCP port/);
  assert.throws(() => launchPlan({ hosts: 'a', sshUser: 'x y', sshCommand: 'ssh', remoteTrainer: 'trainer' }, 1, ip), /--ssh-user must be a user name/);
});

test('a launched worker\'s JSON log line becomes a record at its level; anything else a warning', () => {
  assert.deepEqual(remoteLogRecord('{"time":"t","level":"info","component":"worker","msg":"step","step":3,"rank":1}'), { level: 'info', msg: 'step', fields: { step: 3, rank: 1 } });
  assert.deepEqual(remoteLogRecord('bash: trainer: command not found'), { level: 'warn', msg: 'bash: trainer: command not found', fields: {} });
  assert.deepEqual(remoteLogRecord('{"level":"loud","msg":"x"}'), { level: 'warn', msg: '{"level":"loud","msg":"x"}', fields: {} });
  assert.deepEqual(remoteLogRecord('[1,2]').level, 'warn');
});

test('launched workers get our environment without TRAINER_* (their options come as flags)', () => {
  assert.deepEqual(launchEnv({ PATH: '/bin', TRAINER_WORKERS: '4', TRAINER_CONFIG: 'c.json' }, { X: '1' }), { PATH: '/bin', X: '1' });
});

test('step statistics: medians over a window of the most recent steps', () => {
  const s = new StepStats(3);
  assert.equal(s.summary(), undefined);
  for (const ms of [1000, 10, 30, 20]) s.record({ stepMs: ms, computeMs: ms / 2, reduceMs: ms / 4, peerWaitMs: 0, applyMs: ms / 10, dataWaitMs: ms / 20, sentBytes: 8 });
  assert.deepEqual(s.summary(), { steps: 4, medianStepMs: 20, medianComputeMs: 10, medianReduceMs: 5, medianPeerWaitMs: 0, medianApplyMs: 2, medianDataWaitMs: 1, medianSentBytes: 8, medianWireMs: 5 });
});

test('step statistics: the wire time is the median of each step\'s all-reduce minus its peer wait, not a difference of medians', () => {
  const s = new StepStats();
  for (const [reduceMs, peerWaitMs] of [[10, 0], [20, 15], [30, 5]] as const) s.record({ stepMs: 40, computeMs: 5, reduceMs, peerWaitMs, applyMs: 1, dataWaitMs: 0, sentBytes: 8 });
  // Per step: 10, 5, 25 → 10. The medians' difference would be 20 − 5 = 15.
  assert.equal(s.summary()!.medianWireMs, 10);
});

test('a relayed record reads as its worker on a terminal, and keeps its tags in JSON', () => {
  const lines: string[] = [];
  const fields = { source: 'worker 2@gpu2', launchRank: 2, host: 'gpu2', rank: 2 };
  createSink('human', 'coordinator', (l) => lines.push(l))('warn', 'backend wasm', fields);
  createSink('json', 'coordinator', (l) => lines.push(l))('info', 'training finished', fields);
  assert.equal(lines[0], '[worker 2@gpu2] WARN backend wasm');
  assert.deepEqual({ ...JSON.parse(lines[1]!), time: undefined }, { time: undefined, level: 'info', component: 'coordinator', msg: 'training finished', ...fields });
});

test('launched processes: a failure is reported and started again up to --max-restarts, then the slot settles; retiring stops restarts', async () => {
  const failures: Array<{ slot: number; restarting: boolean }> = [];
  const lines: string[] = [];
  const ok = { label: 'ok', file: 'sh', args: ['-c', 'echo out; echo err >&2'], env: process.env, onLine: (l: string) => lines.push(l) };
  const bad = { label: 'bad', file: 'sh', args: ['-c', 'exit 3'], env: process.env };
  const p = launchProcesses([ok, bad], silentLogger, (f) => failures.push({ slot: f.slot, restarting: f.restarting }), 2);
  assert.deepEqual(await p.exited, [0, 3]);
  assert.deepEqual(failures, [{ slot: 1, restarting: true }, { slot: 1, restarting: true }, { slot: 1, restarting: false }]);
  assert.deepEqual(lines.sort(), ['err', 'out']);

  let starts = 0;
  const retired = launchProcesses([{ ...bad, label: 'bad', onLine: () => {} }], silentLogger, () => { starts++; retired.retire(); }, 5);
  assert.deepEqual(await retired.exited, [3]);
  assert.equal(starts, 1, 'no restart after retire()');
});
