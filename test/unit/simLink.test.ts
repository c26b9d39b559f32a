import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simMakespan, simNetwork } from '../../src/shared/allreduce/simLink.js';
import { ringOverPeers } from '../../src/shared/allreduce/peerLink.js';
import { ringAllReduce } from '../../src/shared/allreduce/ring.js';
import { halvingDoublingAllReduce } from '../../src/shared/allreduce/halvingDoubling.js';

const ALPHA = 20e-6;
const BETA = 1.25e9; // 10 Gbit/s
const GAMMA = 1e-10;
const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${a} s, expected ${b} s`);

test('simulated link: a message arrives α plus its transfer time after it leaves; the receiver then spends γ per byte', async () => {
  const [a, b] = simNetwork(2, { alphaS: ALPHA, betaBytesPerS: BETA, gammaSPerByte: GAMMA });
  await a!.send(1, { step: 1, phase: 'd', seq: 0 }, new Float32Array(1000));
  await b!.recv(0, { step: 1, phase: 'd', seq: 0 });
  close(b!.now, ALPHA + 4000 / BETA + 4000 * GAMMA, 'receiver clock');
  assert.equal(a!.now, 0, 'a send does not stop the sender');
});

test('simulated link: one rank\'s sends share its outgoing bandwidth; a receive waits for a late message, not the other way round', async () => {
  const [a, b, c] = simNetwork(3, { alphaS: ALPHA, betaBytesPerS: BETA, gammaSPerByte: 0 });
  await a!.send(1, { step: 1, phase: 'd', seq: 0 }, new Float32Array(1000));
  await a!.send(2, { step: 1, phase: 'd', seq: 0 }, new Float32Array(1000));
  await b!.recv(0, { step: 1, phase: 'd', seq: 0 });
  await c!.recv(0, { step: 1, phase: 'd', seq: 0 });
  close(b!.now, ALPHA + 4000 / BETA, 'first message');
  close(c!.now, ALPHA + 8000 / BETA, 'second message, queued behind the first');
  c!.advance(1);
  await c!.send(1, { step: 1, phase: 'd', seq: 1 }, new Float32Array(0));
  await b!.recv(2, { step: 1, phase: 'd', seq: 1 });
  close(b!.now, 1 + ALPHA + 8000 / BETA + ALPHA, 'clock after a late message');
});

test('simulated ring all-reduce takes 2(N−1)(α + n/(Nβ) + nγ/N), the α-β-γ cost of the ring, with and without an element scale', async () => {
  for (const [world, scale] of [[4, 1], [5, 1], [8, 16]] as const) {
    const len = world * 1000;
    const peers = simNetwork(world, { alphaS: ALPHA, betaBytesPerS: BETA, gammaSPerByte: GAMMA, elementScale: scale });
    await Promise.all(peers.map((p, r) => ringAllReduce(new Float32Array(len), r, world, ringOverPeers(p, r, world), 1, 'd', 1 << 20)));
    const chunkBytes = 4 * 1000 * scale;
    close(simMakespan(peers), 2 * (world - 1) * (ALPHA + chunkBytes / BETA + chunkBytes * GAMMA), `world ${world} scale ${scale}`);
  }
});

test('simulated halving-doubling takes 2 Σ_k (α + n/2^k (1/β + γ)) for a power of two, plus two whole-buffer hops when ranks fold', async () => {
  for (const world of [8, 12]) {
    const len = 8 * 1024;
    const n = 4 * len;
    const peers = simNetwork(world, { alphaS: ALPHA, betaBytesPerS: BETA, gammaSPerByte: GAMMA });
    await Promise.all(peers.map((p, r) => halvingDoublingAllReduce(new Float32Array(len), r, world, p, 1, 'g', 1 << 20)));
    let expected = 0;
    for (let k = 1; k <= 3; k++) expected += 2 * (ALPHA + (n / 2 ** k) * (1 / BETA + GAMMA));
    if (world === 12) expected += 2 * (ALPHA + n * (1 / BETA + GAMMA));
    close(simMakespan(peers), expected, `world ${world}`);
  }
});
