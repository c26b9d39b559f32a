import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RingLink } from '../../src/shared/allreduce/link.js';
import type { Reduce } from '../../src/shared/gan/trainStep.js';
import { faultHooks } from '../../src/worker/faults.js';

const ring: RingLink = { sendNext: async () => undefined, recvPrev: async () => new Float32Array(0) } as unknown as RingLink;
const identity: Reduce = async (_s, _p, g) => g;

test('without faults the hooks hand back the real link and reduce, and a step start does nothing', () => {
  const hooks = faultHooks();
  assert.equal(hooks.link(ring), ring);
  assert.equal(hooks.reduce(identity), identity);
  hooks.stepStarted(1);
  assert.equal(faultHooks({ nanStep: 3 }).link(ring), ring, 'only the faults asked for are wired in');
});

test('a NaN fault poisons the discriminator gradients of its step only', async () => {
  const reduce = faultHooks({ nanStep: 3 }).reduce(identity);
  for (const [step, phase, poisoned] of [[2, 'd', false], [3, 'g', false], [3, 'd', true]] as const) {
    const out = (await reduce(step, phase, new Float32Array([1, 2]), {})) as Float32Array; // the identity hands back its input
    assert.equal(Number.isNaN(out[0]), poisoned, `step ${step} phase ${phase}`);
    assert.equal(out[1], 2);
  }
});
