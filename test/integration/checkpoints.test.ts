import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Summary } from '../../src/coordinator/summary.js';
import { type Checkpoint, decodeCheckpoint } from '../../src/coordinator/checkpointFormat.js';
import { stateSize, trainableSize } from '../../src/shared/gan/architecture.js';
import { archSpecs } from '../../src/shared/gan/archs.js';
import { averageInOptimizerState } from '../../src/shared/gan/stateLayout.js';
import { jsonLines, runCli, startCli, tempDir, waitFor } from '../helpers.js';
import { maxRelativeError } from '../fixtures/buffers.js';

// These runs are cut short with --steps and resumed with more, so they train at a constant rate
// (the default, said here because a decay follows --steps; the last test resumes a decaying run).
const common = ['--workers', '2', '--spawn', '--limit', '256', '--batch-size', '8', '--port', '0', '--log-format', 'json', '--sample-every', '0', '--check-every', '2', '--lr-decay', '0'];
const hashOf = (out: string): string => (JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary).replicaHash;

test('a run stopped at step 4 and resumed reaches the same replicas at step 6 as one never stopped; a corrupt newest checkpoint is skipped', async () => {
  const whole = tempDir('whole');
  const a = await runCli(['coordinator', ...common, '--steps', '6', '--out', whole]);
  assert.equal(a.code, 0, a.stderr.slice(-2000));
  const first = tempDir('first');
  const b = await runCli(['coordinator', ...common, '--steps', '4', '--checkpoint-every', '2', '--out', first]);
  assert.equal(b.code, 0, b.stderr.slice(-2000));
  assert.deepEqual(readdirSync(path.join(first, 'checkpoints')).sort(), ['ckpt-000000002.bin', 'ckpt-000000004.bin']);
  // The stopped run's own end state differs from the whole run's: the comparison below has teeth.
  assert.notEqual(hashOf(first), hashOf(whole));

  const resumed = tempDir('resumed');
  const c = await runCli(['coordinator', ...common, '--steps', '6', '--resume', first, '--out', resumed]);
  assert.equal(c.code, 0, c.stderr.slice(-2000));
  assert.equal(hashOf(resumed), hashOf(whole));
  const summary = JSON.parse(readFileSync(path.join(resumed, 'summary.json'), 'utf8')) as Summary;
  assert.equal(summary.resumedFrom?.step, 4);

  // Cut the newest checkpoint short: the resume falls back to step 2, says so, and still ends identical.
  const newest = path.join(first, 'checkpoints', 'ckpt-000000004.bin');
  writeFileSync(newest, readFileSync(newest).subarray(0, 1000));
  const again = tempDir('again');
  const d = await runCli(['coordinator', ...common, '--steps', '6', '--resume', first, '--out', again]);
  assert.equal(d.code, 0, d.stderr.slice(-2000));
  assert.ok(jsonLines(d.stdout + d.stderr).some((l) => l.level === 'warn' && /skipping checkpoint .*ckpt-000000004\.bin: checksum mismatch/.test(String(l.msg))));
  assert.equal((JSON.parse(readFileSync(path.join(again, 'summary.json'), 'utf8')) as Summary).resumedFrom?.step, 2);
  assert.equal(hashOf(again), hashOf(whole));

  // A resume that would not continue the same trajectory is refused up front.
  const e = await runCli(['coordinator', ...common, '--seed', '7', '--steps', '6', '--resume', first, '--out', tempDir('bad')]);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /--resume: this run does not continue the checkpointed one: seed 42 \(checkpoint\) vs 7/);
  const f = await runCli(['coordinator', ...common, '--steps', '2', '--resume', first, '--out', tempDir('bad')]);
  assert.equal(f.code, 2);
  assert.match(f.stderr, /--resume: the checkpoint is at step 2; ask for more steps than that/);
});

test('SIGINT on the coordinator finishes the step in flight, writes a final checkpoint, stops the workers; the run resumes from it', async () => {
  const out = tempDir('sigint');
  const run = startCli(['coordinator', ...common, '--steps', '500', '--checkpoint-every', '0', '--log-every', '1', '--out', out]);
  await waitFor(() => jsonLines(run.output()).some((l) => l.msg === 'step' && Number(l.step) >= 3), 60_000, 'three steps');
  run.child.kill('SIGINT');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  const code = await run.exited;
  clearTimeout(timer);
  assert.notEqual(code, 0);
  const log = run.output();
  const stopped = /stopped after step (\d+); resume with --resume/.exec(log);
  assert.ok(stopped, log.slice(-2000));
  const step = Number(stopped[1]);
  assert.ok(existsSync(path.join(out, 'checkpoints', `ckpt-${String(step).padStart(9, '0')}.bin`)));
  // The spawned workers were stopped too, not left behind.
  assert.equal(log.match(/trainer: coordinator stopped the run: .*stopped after step/g)?.length, 2, log.slice(-2000));
  const resumed = tempDir('after-sigint');
  const r = await runCli(['coordinator', ...common, '--steps', String(step + 2), '--resume', out, '--out', resumed]);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.equal((JSON.parse(readFileSync(path.join(resumed, 'summary.json'), 'utf8')) as Summary).resumedFrom?.step, step);
});

test('a checkpoint of 2 workers × batch 8 resumes on 1 worker × batch 16: the same global batches, the same trajectory up to rounding', async () => {
  const weightsOf = (out: string): Float32Array => {
    const b = readFileSync(path.join(out, 'generator', 'weights.bin'));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  // The exported generator is the last weights here (--ema-decay 0): this test follows the trajectory itself.
  const whole = tempDir('whole2');
  assert.equal((await runCli(['coordinator', ...common, '--ema-decay', '0', '--steps', '6', '--out', whole])).code, 0);
  const first = tempDir('two-workers');
  assert.equal((await runCli(['coordinator', ...common, '--ema-decay', '0', '--steps', '3', '--out', first])).code, 0);
  const single = ['--workers', '1', '--spawn', '--limit', '256', '--port', '0', '--log-format', 'json', '--sample-every', '0', '--ema-decay', '0', '--lr-decay', '0'];
  const refused = await runCli(['coordinator', ...single, '--batch-size', '8', '--steps', '6', '--resume', first, '--out', tempDir('bad')]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /global batch 2 × 8 \(checkpoint\) vs 1 × 8; with 1 worker use --batch-size 16/);
  const resumed = tempDir('one-worker');
  const r = await runCli(['coordinator', ...single, '--batch-size', '16', '--steps', '6', '--resume', first, '--out', resumed]);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const err = maxRelativeError(weightsOf(resumed), weightsOf(whole));
  assert.ok(err < 1e-4, `generator after 6 steps differs by ${err} (relative)`);
  // And it did move past the checkpoint: not simply the checkpoint's weights.
  assert.ok(maxRelativeError(weightsOf(first), weightsOf(whole)) > 1e-3);
});

test('the exported generator is the weight average the final checkpoint carries, not its last weights; with --ema-decay 0 it is the last weights', async () => {
  const spec = archSpecs('mlp', 100).generator;
  const exported = (out: string): Float32Array => {
    const b = readFileSync(path.join(out, 'generator', 'weights.bin'));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const finalCheckpoint = (out: string): Checkpoint => decodeCheckpoint(readFileSync(path.join(out, 'checkpoints', 'ckpt-000000017.bin')));
  const averaged = tempDir('averaged');
  const a = await runCli(['coordinator', ...common, '--steps', '17', '--out', averaged]);
  assert.equal(a.code, 0, a.stderr.slice(-2000));
  const c = finalCheckpoint(averaged);
  const average = averageInOptimizerState(c.optimizer.generator, trainableSize(spec), stateSize(spec));
  assert.ok(average, 'the checkpoint carries the average');
  assert.deepEqual(exported(averaged), average);
  assert.ok(maxRelativeError(average, c.weights.generator) > 1e-3, 'the average is not the last weights');
  const summary = JSON.parse(readFileSync(path.join(averaged, 'summary.json'), 'utf8')) as Summary;
  assert.deepEqual(summary.generatorAverage, { decay: 0.999, updateEvery: 8 });

  const last = tempDir('last-weights');
  const b = await runCli(['coordinator', ...common, '--steps', '17', '--ema-decay', '0', '--out', last]);
  assert.equal(b.code, 0, b.stderr.slice(-2000));
  assert.deepEqual(exported(last), finalCheckpoint(last).weights.generator);
  assert.equal(averageInOptimizerState(finalCheckpoint(last).optimizer.generator, trainableSize(spec), stateSize(spec)), undefined);
  // Averaging changes what is shown, never the training: the same last weights either way.
  assert.deepEqual(finalCheckpoint(last).weights.generator, c.weights.generator);
});

test('a run whose learning rate decays, resumed with its own flags from a checkpoint inside the decay, ends bit for bit as the run never stopped', async () => {
  const decaying = [...common.slice(0, -2), '--lr-decay', '0.5', '--steps', '6'];
  const whole = tempDir('decay-whole');
  const a = await runCli(['coordinator', ...decaying, '--checkpoint-every', '5', '--out', whole]);
  assert.equal(a.code, 0, a.stderr.slice(-2000));
  const summary = JSON.parse(readFileSync(path.join(whole, 'summary.json'), 'utf8')) as Summary;
  assert.deepEqual(summary.learningRate, { lr: 5e-4, decaySteps: 3 });
  // Only the step-5 checkpoint, two steps into the decay, to resume from.
  const first = tempDir('decay-first');
  mkdirSync(path.join(first, 'checkpoints'));
  copyFileSync(path.join(whole, 'checkpoints', 'ckpt-000000005.bin'), path.join(first, 'checkpoints', 'ckpt-000000005.bin'));
  const resumed = tempDir('decay-resumed');
  const b = await runCli(['coordinator', ...decaying, '--resume', first, '--out', resumed]);
  assert.equal(b.code, 0, b.stderr.slice(-2000));
  assert.equal(hashOf(resumed), hashOf(whole));
  // The same with a constant rate ends elsewhere: the decay did reach the updates.
  const constant = tempDir('decay-none');
  assert.equal((await runCli(['coordinator', ...common, '--steps', '6', '--out', constant])).code, 0);
  assert.notEqual(hashOf(constant), hashOf(whole));
});
