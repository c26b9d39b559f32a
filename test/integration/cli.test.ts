import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers.js';

test('the package bin `trainer` is the built CLI and its help lists both commands and their flags', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.ok(pkg.bin.trainer, 'package.json declares a `trainer` bin');
  const bin = path.join(ROOT, pkg.bin.trainer);
  assert.match(readFileSync(bin, 'utf8').split('\n')[0]!, /^#!\/usr\/bin\/env node/, 'the bin starts with a node shebang');
  const help = (args: string[]): string => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `trainer ${args.join(' ')} exits 0: ${r.stderr}`);
    return r.stdout;
  };
  const top = help(['--help']);
  assert.match(top, /trainer coordinator/);
  assert.match(top, /trainer worker/);
  assert.match(top, /trainer generate/);
  const generate = help(['generate', '--help']);
  for (const flag of ['--model', '--count', '--out', '--seed']) assert.match(generate, new RegExp(`${flag}\\b`), `generate --help lists ${flag}`);
  const coordinator = help(['coordinator', '--help']);
  for (const flag of ['--workers', '--spawn', '--steps', '--epochs', '--batch-size', '--arch', '--allreduce', '--lr', '--beta1', '--seed', '--data', '--limit', '--out', '--backend', '--port', '--bind', '--metrics-port', '--metrics', '--sample-every', '--timeline', '--spawn-gpus']) {
    assert.match(coordinator, new RegExp(`${flag}\\b`), `coordinator --help lists ${flag}`);
  }
  const worker = help(['worker', '--help']);
  for (const flag of ['--coordinator', '--advertise', '--backend', '--metrics-port', '--gpu']) assert.match(worker, new RegExp(`${flag}\\b`), `worker --help lists ${flag}`);
});
