import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMAND_OPTIONS } from '../../src/cli/options.js';
import { configPath, envName, layerOptions, withOrigin } from '../../src/cli/optionLayers.js';
import { ConfigError } from '../../src/shared/errors.js';

const layers = (command: 'coordinator' | 'worker', env: Record<string, string>, data?: unknown) =>
  layerOptions({ tables: COMMAND_OPTIONS, command, env, ...(data === undefined ? {} : { file: { path: 'run.json', data } }) });

test('TRAINER_* names every flag: upper snake case', () => {
  assert.equal(envName('metrics-port'), 'TRAINER_METRICS_PORT');
  assert.equal(envName('coordinator'), 'TRAINER_COORDINATOR');
});

test('environment over file; each value remembers where it came from', () => {
  const l = layers('coordinator', { TRAINER_WORKERS: '4', TRAINER_SPAWN: 'true', PATH: '/bin', TRAINER_CONFIG: 'x.json' },
    { workers: 2, batchSize: 16, 'allreduce': 'star', coordinator: { arch: 'dcgan' }, worker: { gpu: 1 } });
  assert.deepEqual(l.values, { workers: '4', 'batch-size': 16, allreduce: 'star', arch: 'dcgan', spawn: true });
  assert.deepEqual([...l.origins], [['workers', 'TRAINER_WORKERS'], ['batch-size', 'run.json'], ['allreduce', 'run.json'], ['arch', 'run.json'], ['spawn', 'TRAINER_SPAWN']]);
});

test('a file\'s command section wins over its top level', () => {
  assert.deepEqual(layers('worker', {}, { backend: 'cpu', worker: { backend: 'wasm' }, coordinator: { workers: 3 } }).values, { backend: 'wasm' });
});

test('a name of another command is ignored; a name of no command is an error', () => {
  // One environment for a whole compose file: TRAINER_WORKERS is the coordinator's business.
  assert.deepEqual(layers('worker', { TRAINER_WORKERS: '4', TRAINER_COORDINATOR: 'tcp://c:5555' }).values, { coordinator: 'tcp://c:5555' });
  assert.deepEqual(layers('worker', {}, { workers: 4 }).values, {});
  const bad: Array<[Record<string, string>, unknown, RegExp]> = [
    [{ TRAINER_WOKERS: '4' }, undefined, /^environment variable TRAINER_WOKERS names no trainer option \(--wokers\)$/],
    [{ TRAINER_SPAWN: 'yes' }, undefined, /TRAINER_SPAWN must be true or false, got "yes"/],
    [{}, { wokers: 4 }, /^--config run.json: "wokers" is not an option of any trainer command$/],
    [{}, { coordinator: { coordinator: 'tcp://x:1' } }, /"coordinator.coordinator" is not an option of trainer coordinator/],
    [{}, { workers: [4] }, /"workers" must be a string, number or boolean/],
    [{}, { config: 'other.json' }, /cannot name another config file/],
    [{}, [1, 2], /must hold a JSON object/],
    [{}, { worker: 3 }, /"worker" must be an object/],
  ];
  for (const [env, data, why] of bad) assert.throws(() => layers('coordinator', env, data), (e: unknown) => e instanceof ConfigError && why.test(e.message), why.source);
});

test('an empty variable is unset', () => {
  assert.deepEqual(layers('coordinator', { TRAINER_SEED: '' }).values, {});
});

test('--config on the command line, else TRAINER_CONFIG', () => {
  assert.equal(configPath(['coordinator', '--config', 'a.json'], { TRAINER_CONFIG: 'b.json' }), 'a.json');
  assert.equal(configPath(['coordinator', '--config=a.json'], {}), 'a.json');
  assert.equal(configPath(['coordinator'], { TRAINER_CONFIG: 'b.json' }), 'b.json');
  assert.equal(configPath(['coordinator', '--', '--config', 'a.json'], {}), undefined);
  assert.throws(() => configPath(['coordinator', '--config'], {}), /--config needs a file path/);
});

test('an error about a value names its source unless the flag was given', () => {
  const origins = new Map([['workers', 'TRAINER_WORKERS'], ['arch', 'run.json']]);
  assert.equal(withOrigin('--workers must be a positive integer, got 0', origins, ['coordinator']), '--workers must be a positive integer, got 0 (from TRAINER_WORKERS)');
  assert.equal(withOrigin('--workers must be a positive integer, got 0', origins, ['coordinator', '--workers', '0']), '--workers must be a positive integer, got 0');
  assert.equal(withOrigin('Invalid values: Argument: arch, Given: "x"', origins, []), 'Invalid values: Argument: arch, Given: "x" (from run.json)');
  assert.equal(withOrigin('something else', origins, []), 'something else');
});
