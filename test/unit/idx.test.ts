import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { parseIdx } from '../../src/shared/data/idx.js';
import { imageSetFromIdx, loadTrainingSet } from '../../src/shared/data/dataset.js';
import { DataFormatError } from '../../src/shared/errors.js';
import { idxBytes } from '../fixtures/idx.js';
import { tempDir } from '../helpers.js';

test('parses a valid IDX file, raw and gzipped', () => {
  const raw = idxBytes([3, 2, 2]);
  for (const bytes of [raw, gzipSync(raw)]) {
    const idx = parseIdx(bytes, 'x');
    assert.deepEqual(idx.dims, [3, 2, 2]);
    assert.equal(idx.data.length, 12);
    assert.equal(idx.data[5], 5);
  }
});

test('refuses a wrong magic number, naming the file', () => {
  assert.throws(() => parseIdx(idxBytes([2, 2], undefined, [0x12, 0x34, 0x08, 2]), 'bad.idx'), (e: unknown) => e instanceof DataFormatError && /bad\.idx: bad magic number 0x12340802/.test(e.message));
  assert.throws(() => parseIdx(idxBytes([2, 2], undefined, [0, 0, 0x0d, 2]), 'f.idx'), /element type 0xd is not supported/);
});

test('refuses truncated files and trailing bytes with sizes in the message', () => {
  const ok = idxBytes([4, 28, 28]);
  assert.throws(() => parseIdx(ok.subarray(0, ok.length - 1), 'imgs'), /imgs: file truncated: 3151 bytes, dimensions \[4, 28, 28\] need 3152/);
  assert.throws(() => parseIdx(Buffer.concat([ok, Buffer.from([1])]), 'imgs'), /has trailing bytes/);
  assert.throws(() => parseIdx(ok.subarray(0, 6), 'imgs'), /header truncated/);
  assert.throws(() => parseIdx(Buffer.from([0, 0]), 'imgs'), /too short/);
  assert.throws(() => parseIdx(gzipSync(ok).subarray(0, 40), 'imgs.gz'), /gzip stream is corrupt/);
});

test('checks ranks, image size and label count across the pair', () => {
  const images = idxBytes([5, 28, 28]);
  const labels = idxBytes([5]);
  assert.equal(imageSetFromIdx(images, labels, 'i', 'l').count, 5);
  assert.throws(() => imageSetFromIdx(labels, images, 'l', 'i'), /l: has 1 dimensions, expected 3/);
  assert.throws(() => imageSetFromIdx(idxBytes([5, 32, 32]), labels, 'i', 'l'), /images are 32×32, expected 28×28/);
  assert.throws(() => imageSetFromIdx(images, idxBytes([4]), 'i', 'l'), /l: 4 labels for 5 images/);
});

test('loads a directory of gzipped files and applies --limit', () => {
  const dir = tempDir('idx');
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([10, 28, 28])));
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([10])));
  const set = loadTrainingSet(dir, 4);
  assert.equal(set.count, 4);
  assert.equal(set.images.length, 4 * 784);
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  assert.throws(() => loadTrainingSet(empty), /no train-images-idx3-ubyte/);
});

test('the bundled MNIST loads: 60000 images of 28×28 with labels 0-9', () => {
  const set = loadTrainingSet();
  assert.equal(set.count, 60000);
  assert.ok(set.labels.every((l) => l <= 9));
});
