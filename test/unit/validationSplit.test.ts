import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEpoch, shuffled, splitValidation } from '../../src/classifier/validationSplit.js';
import { Rng } from '../../src/shared/rng.js';

test('the classifier\'s validation split is disjoint from every epoch it trains on, and together they cover the training set', () => {
  const split = splitValidation(60_000, 5000, 1);
  assert.equal(split.validation.length, 5000);
  assert.equal(split.train.length, 55_000);
  const held = new Set(split.validation);
  assert.equal(held.size, 5000);
  // What training iterates: one seeded shuffle of the training indices per epoch (as trainClassifier does).
  const rng = new Rng(1);
  for (let epoch = 0; epoch < 3; epoch++) {
    const order = shuffled(split.train, rng);
    assert.equal(order.length, 55_000);
    assert.equal(new Set(order).size, 55_000);
    for (const i of order) assert.ok(!held.has(i), `epoch ${epoch} trains on held-out image ${i}`);
  }
  const all = new Set([...split.train, ...split.validation]);
  assert.equal(all.size, 60_000);
  // Seeded: the same split on every run, another with another seed.
  assert.deepEqual(splitValidation(60_000, 5000, 1).validation, split.validation);
  assert.notDeepEqual(splitValidation(60_000, 5000, 2).validation, split.validation);
});

test('the epoch kept is the best on validation, the earliest of equals; a split that leaves nothing to train on is refused', () => {
  assert.equal(chooseEpoch([0.98, 0.985, 0.99, 0.989]), 3);
  assert.equal(chooseEpoch([0.98, 0.99, 0.99]), 2);
  assert.throws(() => splitValidation(100, 100, 1), /--validation must be in \[1, 99\]/);
});
