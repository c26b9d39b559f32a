import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePng, gridSize, imageGridPng } from '../../src/shared/png.js';
import pngjs from 'pngjs';

test('an 8×8 grid of 28×28 images encodes to a PNG of the computed size and values', () => {
  const o = { columns: 8, side: 28, padding: 2, scale: 2 };
  const pixels = new Float32Array(64 * 784).fill(-1);
  pixels[0] = 1;
  const png = imageGridPng(pixels, 64, o);
  assert.deepEqual(gridSize(64, o), { width: 484, height: 484 });
  assert.deepEqual(decodePng(png), { width: 484, height: 484 });
  const img = pngjs.PNG.sync.read(png);
  const at = (x: number, y: number): number => img.data[(y * img.width + x) * 4]!;
  assert.equal(at(4, 4), 255, 'pixel +1 is white');
  assert.equal(at(6, 4), 0, 'pixel -1 is black');
  assert.equal(at(0, 0), 32, 'padding');
});
