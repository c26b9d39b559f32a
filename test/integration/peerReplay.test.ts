/**
 * The trainer and its PyTorch twin compute the same step: scripts/peerReplay.js takes three steps of a
 * 1-worker run and writes its weights, batches, noise and step-1 gradients; scripts/peerReplay.py loads
 * them into peer.py's models and takes the same steps. That is what makes the quality comparison of
 * docs/results.md a comparison of implementations and not of two different algorithms. Needs Debian's
 * python3-torch (the test set-up installs it); fails, not skips, without it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ARCHS } from '../../src/shared/config.js';
import { ROOT, runProcess, tempDir } from '../helpers.js';

const PYTHON = '/usr/bin/python3';
const REPLAY_PY = path.join(ROOT, 'scripts', 'peerReplay.py');
const REPLAY_JS = fileURLToPath(new URL('../../scripts/peerReplay.js', import.meta.url));

interface Errors { max: number; l2: number }
interface Report {
  gradsD: Record<string, Errors>;
  gradsGSameD: Record<string, Errors>;
  losses: { step: number; dLoss: [number, number]; gLoss: [number, number] }[];
}

const worst = (rows: Record<string, Errors>, key: keyof Errors, filter: (name: string) => boolean = () => true): [string, number] =>
  Object.entries(rows).filter(([name]) => filter(name)).map(([name, e]): [string, number] => [name, e[key]]).reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0]);

for (const arch of ARCHS) {
  test(`the ${arch} GAN: PyTorch's twin, loaded with the trainer's weights, batches and noise, computes the trainer's gradients and losses`, async () => {
    const dir = tempDir(`replay-${arch}`);
    const trainer = await runProcess(process.execPath, [REPLAY_JS, arch, 'auto', '32', '3', dir, '42'], 240_000);
    assert.equal(trainer.code, 0, trainer.stderr);
    const twin = await runProcess(PYTHON, [REPLAY_PY, dir], 240_000);
    assert.equal(twin.code, 0, twin.stderr);
    const r = JSON.parse(twin.stdout) as Report;
    // D's gradients: float32 rounding only. Measured at most 3e-5 (a bias: the sum of the batch's 64
    // sigmoids); a wrong kernel or layout is off by O(1), a batch norm epsilon of 1e-3 for 1e-5 by 1e-2.
    const [dName, dMax] = worst(r.gradsD, 'max', (n) => !n.includes('/moving_'));
    assert.ok(dMax < 1e-3, `D's gradient ${dName} differs from PyTorch's by ${dMax} of its largest entry`);
    // G's, against the same updated D. Its path crosses (Leaky)ReLUs: an entry within rounding of a kink
    // flips to the other slope and moves a whole term, so these compare in L2 (measured ≤ 1e-3 at batch
    // 128; missing the batch-norm statistics' gradient, or a transposed kernel, gives 1e-1 and more).
    const [gName, gL2] = worst(r.gradsGSameD, 'l2', (n) => !n.includes('/moving_'));
    assert.ok(gL2 < 1e-2, `G's gradient ${gName} differs from PyTorch's by ${gL2} in L2`);
    // The moving statistics after each phase's forward passes. Not quite rounding: PyTorch moves the moving
    // variance by the unbiased batch variance (n/(n − 1)), tfjs by the biased one; at this batch 3e-5.
    const [sName, sMax] = worst({ ...r.gradsD, ...r.gradsGSameD }, 'max', (n) => n.includes('/moving_'));
    assert.ok(sMax < 1e-4, `moving statistic ${sName} differs by ${sMax} of its largest entry`);
    assert.equal(r.losses.length, 3);
    for (const { step, dLoss, gLoss } of r.losses) {
      for (const [what, [ours, theirs]] of [['D', dLoss], ['G', gLoss]] as const) {
        assert.ok(Math.abs(ours - theirs) < 1e-4, `step ${step}: ${what} loss ${theirs} in the trainer, ${ours} in PyTorch`);
      }
    }
  });
}
