import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOL_VERSION, type Start } from '../../src/shared/protocol.js';
import { afterStep, startRefusal } from '../../src/worker/stepRules.js';
import { trainConfig } from '../fixtures/trainConfig.js';

const config = trainConfig({ world: 3, steps: 100, checkEvery: 10, checkpointEvery: 25, sampleEvery: 20, evalEvery: 0 });
const start = (over: Partial<Start> = {}): Start => ({ t: 'start', v: PROTOCOL_VERSION, gen: 2, rank: 1, world: 2, ring: ['tcp://a:1', 'tcp://b:1'], step: 10, ...over });
const w = new Float32Array(2);

test('a start is adopted when this replica holds its step or is sent the state', () => {
  assert.equal(startRefusal(start(), config, 10, false), undefined);
  assert.equal(startRefusal(start({ generator: w, discriminator: w, generatorOptimizer: w, discriminatorOptimizer: w }), config, 7, false), undefined);
  // The initial state has no optimizer state to send.
  assert.equal(startRefusal(start({ step: 0, generator: w, discriminator: w }), config, -1, false), undefined);
});

test('a start is refused: past the last step, a bad rank or ring, state without optimizers, a step this replica is not at, no ring keys with CURVE', () => {
  assert.match(startRefusal(start({ step: 100 }), config, 100, false)!, /after step 100 of 100/);
  assert.match(startRefusal(start({ rank: 2 }), config, 10, false)!, /rank 2 of 2/);
  assert.match(startRefusal(start({ world: 4, ring: ['a', 'b', 'c', 'd'] }), config, 10, false)!, /at most 3 workers/);
  assert.match(startRefusal(start({ ring: ['tcp://a:1'] }), config, 10, false)!, /with 1 ring endpoints/);
  assert.match(startRefusal(start({ generator: w, discriminator: w }), config, 7, false)!, /without optimizer state/);
  assert.match(startRefusal(start(), config, 9, false)!, /this replica is at step 9 and was sent no state/);
  assert.match(startRefusal(start(), config, 10, true)!, /sent no ring keys/);
  assert.equal(startRefusal(start({ ringKeys: ['k'.repeat(40), 'k'.repeat(40)] }), config, 10, true), undefined);
});

test('after a step: the hash on the first step of a generation, every --check-every and the last; rank 0\'s state for samples and checkpoints', () => {
  assert.deepEqual(afterStep(11, 0, config, true, undefined), { hash: true });
  assert.deepEqual(afterStep(12, 0, config, false, undefined), { hash: false });
  assert.deepEqual(afterStep(20, 0, config, false, undefined), { hash: true, state: { forCheckpoint: false } });
  assert.deepEqual(afterStep(20, 1, config, false, undefined), { hash: true });
  assert.deepEqual(afterStep(25, 0, config, false, undefined), { hash: false, state: { forCheckpoint: true } });
  // The coordinator asked for this replica's state after this step (a stop, a join): any rank, with optimizers.
  assert.deepEqual(afterStep(13, 1, config, false, 13), { hash: false, state: { forCheckpoint: true } });
  assert.deepEqual(afterStep(13, 1, config, false, 14), { hash: false });
  // The last step's state goes after the loop, not here.
  assert.deepEqual(afterStep(100, 0, config, false, 100), { hash: true });
});
