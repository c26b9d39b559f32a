import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedCoreFlags } from '../../src/coordinator/sharedCores.js';

test('spawned workers that fill the host\'s cores keep V8\'s helper work on their own thread; with a core to spare they keep the defaults', () => {
  assert.deepEqual(sharedCoreFlags(2, 2).flags, ['--single-threaded', '--max-semi-space-size=64']);
  assert.deepEqual(sharedCoreFlags(4, 2).flags, ['--single-threaded', '--max-semi-space-size=64']);
  assert.deepEqual(sharedCoreFlags(1, 1).flags, ['--single-threaded', '--max-semi-space-size=64']);
  assert.match(sharedCoreFlags(2, 2).why ?? '', /^2 workers on 2 cores: each runs V8's compiler and garbage collector on its own thread \(node --single-threaded --max-semi-space-size=64\)/);
  for (const [workers, cores] of [[1, 2], [2, 3], [4, 64]] as const) assert.deepEqual(sharedCoreFlags(workers, cores), { flags: [] });
});
