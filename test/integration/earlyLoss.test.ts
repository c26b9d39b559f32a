import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Summary } from '../../src/coordinator/summary.js';
import { jsonLines, startCli, tempDir, testPort, waitFor } from '../helpers.js';

test('a worker lost in the first step is replaced: the joiner gets the state at step 0 from the coordinator, not from a survivor asked for a "state after step 0"', async () => {
  const out = tempDir('early-loss');
  const port = testPort();
  const c = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--limit', '256',
    '--batch-size', '8', '--sample-every', '0', '--steps', '4', '--rejoin-timeout', '60', '--heartbeat-interval', '0.5', '--worker-timeout', '5', '--timeout', '30']);
  const worker = (extra: string[] = []): ReturnType<typeof startCli> => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json', ...extra]);
  // Dies in the middle of step 1's generator all-reduce: nothing is complete, the survivor rolls back to step 0.
  const workers = [worker(), worker(['--fault-kill-step', '1'])];
  let replacement: ReturnType<typeof startCli> | undefined;
  try {
    await waitFor(() => /waiting up to 60 s \(--rejoin-timeout\) for workers to join/.test(c.output()), 90_000, 'the coordinator to wait for a worker');
    replacement = worker();
    assert.equal(await c.exited, 0, c.output().slice(-3000));
    const s = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    const change = s.membership.changes[0]!;
    assert.equal(change.step, 0, 'the new generation starts after step 0');
    assert.equal(change.joined.length, 1);
    for (const w of [workers[0]!, replacement]) {
      assert.equal(await w.exited, 0, w.output().slice(-2000));
      assert.equal(jsonLines(w.output()).find((l) => l.msg === 'training finished')?.hash, s.replicaHash);
    }
  } finally {
    for (const p of [c, ...workers, ...(replacement ? [replacement] : [])]) p.child.kill('SIGKILL');
  }
});
