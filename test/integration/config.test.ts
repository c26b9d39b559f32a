import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir, testPort } from '../helpers.js';

// Which value wins shows in the error about it: each layer gives --batch-size a different bad value.
test('precedence: flags over TRAINER_* over --config over defaults, and errors name the source', async () => {
  const dir = tempDir('config');
  const file = path.join(dir, 'run.json');
  writeFileSync(file, JSON.stringify({ 'batch-size': -3, coordinator: { workers: 2 } }));
  const run = (flags: string[], env: Record<string, string>) => runCli(['coordinator', '--config', file, '--out', dir, ...flags], 30_000, env);
  const flag = await run(['--batch-size', '-1'], { TRAINER_BATCH_SIZE: '-2' });
  assert.equal(flag.code, 2);
  assert.equal(flag.stderr.trim(), 'trainer: --batch-size must be a positive integer, got -1');
  const env = await run([], { TRAINER_BATCH_SIZE: '-2' });
  assert.equal(env.stderr.trim(), 'trainer: --batch-size must be a positive integer, got -2 (from TRAINER_BATCH_SIZE)');
  const fromFile = await run([], {});
  assert.equal(fromFile.stderr.trim(), `trainer: --batch-size must be a positive integer, got -3 (from ${file})`);
  // The file named by TRAINER_CONFIG, and a bad value of a choice.
  const viaEnv = await runCli(['coordinator', '--out', dir], 30_000, { TRAINER_CONFIG: file, TRAINER_ARCH: 'resnet' });
  assert.equal(viaEnv.code, 2);
  assert.match(viaEnv.stderr, /Argument: arch, Given: "resnet".*\(from TRAINER_ARCH\)$/m);
});

test('a flag given twice takes its last value', async () => {
  const r = await runCli(['coordinator', '--workers', '2', '--workers', '0', '--out', tempDir('config-twice')], 30_000);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'trainer: --workers must be a positive integer, got 0');
});

test('16-bit gradients with halving-doubling are refused in one line (it carries float32 only)', async () => {
  const r = await runCli(['coordinator', '--workers', '2', '--compression', 'fp16', '--allreduce', 'rhd', '--out', tempDir('config-rhd-fp16')], 30_000);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'trainer: --compression fp16 needs --allreduce ring, star or auto: halving-doubling carries float32 only');
});

test('bad configuration from outside is a one-line usage error', async () => {
  const dir = tempDir('config-bad');
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ TRAINER_WOKERS: '2' }, '', /^trainer: environment variable TRAINER_WOKERS names no trainer option \(--wokers\)$/],
    [{}, '{"workers": 2,', /^trainer: --config .*run.json: not valid JSON: /],
    [{}, '{"wokers": 2}', /^trainer: --config .*run.json: "wokers" is not an option of any trainer command$/],
    [{ TRAINER_SPAWN: 'maybe' }, '', /^trainer: environment variable TRAINER_SPAWN must be true or false, got "maybe"$/],
  ];
  for (const [env, text, why] of cases) {
    const file = path.join(dir, 'run.json');
    writeFileSync(file, text || '{}');
    const r = await runCli(['coordinator', '--workers', '1', '--config', file, '--out', dir], 30_000, env);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr.trim(), why);
  }
});

test('a run configured from a file and the environment, with a flag on top, trains with the merged values', async () => {
  const out = tempDir('config-run');
  const file = path.join(out, 'run.json');
  // One file for both commands: top-level values they share, a section per command.
  writeFileSync(file, JSON.stringify({ backend: 'wasm', coordinator: { workers: 1, steps: 50, 'batch-size': 8, arch: 'mlp', sampleEvery: 0 } }));
  const r = await runCli(['coordinator', '--workers', '2', '--spawn', '--out', out, '--port', String(testPort()), '--log-format', 'json'], 120_000,
    { TRAINER_CONFIG: file, TRAINER_STEPS: '3', TRAINER_CHECK_EVERY: '1' });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const s = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { workers: number; steps: number; batchSize: number; backend: string };
  assert.deepEqual({ workers: s.workers, steps: s.steps, batchSize: s.batchSize, backend: s.backend }, { workers: 2, steps: 3, batchSize: 8, backend: 'wasm' });
});
