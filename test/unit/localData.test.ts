import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataFeeder } from '../../src/shared/data/dataFeeder.js';
import { bundledMnistDir, loadTrainingSet } from '../../src/shared/data/dataset.js';
import { stepsPerEpoch } from '../../src/shared/data/sharding.js';
import { type Batch, PROTOCOL_VERSION } from '../../src/shared/protocol.js';
import { localFeeder, stepBatch } from '../../src/worker/localData.js';
import { trainConfig } from '../fixtures/trainConfig.js';

const EXAMPLES = 500;
// What the coordinator's buildTrainConfig makes of --data local --limit 500 --workers 3 --batch-size 8.
const config = trainConfig({ world: 3, batchSize: 8, stepsPerEpoch: stepsPerEpoch(EXAMPLES, 24), seed: 7, data: 'local', dataExamples: EXAMPLES });

test('a worker with --data local cuts, from its own copy, the slice the coordinator would ship: every rank of even and uneven worlds, across epochs', () => {
  const coordinator = new DataFeeder(loadTrainingSet(bundledMnistDir(), EXAMPLES), config);
  const own = localFeeder(config);
  assert.ok(own, 'a feeder in local mode');
  const perEpoch = config.stepsPerEpoch;
  // First and last step of epoch 0, the first of epoch 1, one deep in epoch 2 (a resumed run's later epoch).
  for (const step of [1, 2, perEpoch, perEpoch + 1, 2 * perEpoch + 5]) {
    // The full world, fewer after losses (24 examples among 5 or 7 split unevenly), and one survivor.
    for (const world of [3, 2, 5, 7, 1]) {
      const slices = [];
      for (let rank = 0; rank < world; rank++) {
        const shipped = coordinator.batchFor(step, rank, world);
        const mine = stepBatch({ t: 'go', v: PROTOCOL_VERSION, gen: 1, step, through: step }, own, rank, world);
        assert.equal(mine.step, step);
        assert.equal(mine.epoch, shipped.epoch, `step ${step} rank ${rank}/${world}: epoch`);
        assert.equal(mine.position, shipped.position, `step ${step} rank ${rank}/${world}: position`);
        assert.deepEqual(mine.images, shipped.images, `step ${step} rank ${rank}/${world}: the same examples`);
        slices.push(mine);
      }
      // Together the slices are the whole global batch, in order, whatever the world.
      const whole = coordinator.batchFor(step, 0, 1);
      assert.deepEqual(Buffer.concat(slices.map((s) => s.images)), Buffer.from(whole.images), `step ${step}, world ${world}: slices cover the global batch`);
      const sizes = slices.map((s) => s.images.length / 784);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `step ${step}, world ${world}: slice sizes ${sizes.join(',')}`);
    }
  }
});

test('a shipped batch is used as it came; a go-ahead without local data, or a different data set, is an error', () => {
  const batch: Batch = { t: 'batch', v: PROTOCOL_VERSION, gen: 1, step: 3, epoch: 0, position: 16, images: new Uint8Array(784) };
  assert.equal(stepBatch(batch, undefined, 0, 2), batch);
  assert.throws(() => stepBatch({ t: 'go', v: PROTOCOL_VERSION, gen: 1, step: 3, through: 3 }, undefined, 0, 2), (err: Error & { code?: string }) => err.code === 'E_PROTOCOL');
  assert.equal(localFeeder({ ...config, data: 'coordinator' }), undefined);
  assert.equal(localFeeder({ ...config, data: undefined }), undefined);
  // The coordinator trains on more examples than the bundled set holds: another epoch order, refused.
  assert.throws(() => localFeeder({ ...config, dataExamples: 10_000_000 }), (err: Error & { code?: string }) => err.code === 'E_DATA' && /10000000/.test(err.message));
});
