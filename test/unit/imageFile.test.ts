import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readImageFile } from '../../src/evaluate/imageFile.js';
import { DataFormatError } from '../../src/shared/errors.js';
import { idxBytes } from '../fixtures/idx.js';
import { npyBytes } from '../fixtures/npy.js';
import { tempDir } from '../helpers.js';

const PIXELS = 3 * 784;
const bytes = Array.from({ length: PIXELS }, (_, i) => (i * 7) % 256);

function write(name: string, data: Buffer): string {
  const file = path.join(tempDir('imagefile'), name);
  writeFileSync(file, data);
  return file;
}

test('IDX ubyte, npy uint8, npy floats in [0, 1] and in [-1, 1] all read as the same images in [-1, 1]', () => {
  const expected = bytes.map((b) => b / 127.5 - 1);
  const files = [
    write('a.idx', idxBytes([3, 28, 28], (i) => bytes[i]!)),
    write('b.npy', npyBytes([3, 28, 28], '|u1', bytes)),
    write('c.npy', npyBytes([3, 784], '<f4', bytes.map((b) => b / 255))),
    write('d.npy', npyBytes([3, 1, 28, 28], '<f8', expected)),
    write('e.npy', npyBytes([3, 28, 28, 1], '<f4', expected)),
  ];
  const formats = [];
  for (const f of files) {
    const r = readImageFile(f);
    assert.equal(r.count, 3, f);
    r.images.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${f} pixel ${i}: ${v} vs ${expected[i]}`));
    formats.push(r.format);
  }
  assert.deepEqual(formats, ['idx ubyte [0, 255]', 'npy uint8 [0, 255]', 'npy f4 [0, 1]', 'npy f8 [-1, 1]', 'npy f4 [-1, 1]']);
});

test('wrong shapes, ranges, dtypes and orders are refused with one line that names the file', () => {
  const bad: Array<[string, Buffer, RegExp]> = [
    ['small.npy', npyBytes([3, 27, 27], '<f4', new Float32Array(3 * 27 * 27)), /shape \(3, 27, 27\) is not N ≥ 2 images of 28×28/],
    ['flat.npy', npyBytes([784], '<f4', new Float32Array(784)), /shape \(784\)/],
    ['labels.idx', idxBytes([3], () => 1), /IDX dimensions \(3\)/],
    ['range.npy', npyBytes([2, 784], '<f4', Array.from({ length: 1568 }, (_, i) => i % 3)), /values span \[0, 2\]/],
    ['nan.npy', npyBytes([2, 784], '<f8', Array.from({ length: 1568 }, (_, i) => (i === 5 ? Number.NaN : 0))), /holds NaN/],
    ['fortran.npy', npyBytes([2, 784], '<f4', new Float32Array(1568), true), /Fortran-order/],
    ['short.npy', npyBytes([2, 784], '<f4', new Float32Array(1568)).subarray(0, 500), /needs 6272 data bytes, the file has/],
  ];
  for (const [name, data, message] of bad) {
    const file = write(name, data);
    assert.throws(() => readImageFile(file), (e: unknown) => e instanceof DataFormatError && message.test(e.message) && e.message.includes(file) && !e.message.includes('\n'), name);
  }
});
