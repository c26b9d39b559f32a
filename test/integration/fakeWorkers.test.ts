import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { IMAGE_SIZE } from '../../src/shared/data/dataset.js';
import { STEP_RECORDS_FILE } from '../../src/coordinator/stepRecords.js';
import type { Summary } from '../../src/coordinator/summary.js';
import { FAKE_STATE_HASH, FakeWorkers } from '../fixtures/fakeWorkers.js';
import { jsonLines, startCli, tempDir, waitFor } from '../helpers.js';

const WORKERS = 4;
const STEPS = 5;
const BATCH = 4;

// The harness bench:scale measures the coordinator with: a stalled or short run must fail here, not be timed there.
for (const data of ['coordinator', 'local'] as const) {
  test(`${WORKERS} fake workers carry a real coordinator through ${STEPS} steps with --data ${data}`, async () => {
    const out = tempDir(`fakes-${data}`);
    const coordinator = startCli(['coordinator', '--workers', String(WORKERS), '--port', '0', '--bind', '127.0.0.1', '--out', out, '--log-format', 'json',
      '--steps', String(STEPS), '--limit', '64', '--batch-size', String(BATCH), '--data', data, '--sample-every', '0', '--checkpoint-every', '0', '--timeout', '20']);
    const timer = setTimeout(() => coordinator.child.kill('SIGKILL'), 120_000);
    let fakes: FakeWorkers | undefined;
    try {
      const endpoint = (): string | undefined => jsonLines(coordinator.output()).find((l) => l.endpoint !== undefined)?.endpoint as string | undefined;
      await waitFor(() => endpoint() !== undefined, 60_000, 'the coordinator to listen');
      fakes = new FakeWorkers(endpoint()!.replace('0.0.0.0', '127.0.0.1'), WORKERS);
      const shutdowns = await fakes.finished;
      assert.ok(shutdowns.every((s) => s.ok), JSON.stringify(shutdowns));
      assert.equal(await coordinator.exited, 0, coordinator.output().slice(-2000));
      const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
      assert.equal(summary.steps, STEPS);
      // summary.steps is the count asked for; the step records are the steps the coordinator saw complete.
      const completed = readFileSync(path.join(out, STEP_RECORDS_FILE), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
      assert.deepEqual(completed, Array.from({ length: STEPS }, (_, i) => i + 1));
      assert.equal(summary.data, data);
      assert.equal(summary.replicaHash, FAKE_STATE_HASH);
      assert.deepEqual(fakes.reported(), Array(WORKERS).fill(STEPS));
      const imageBytes = data === 'coordinator' ? STEPS * WORKERS * BATCH * IMAGE_SIZE : 0;
      assert.deepEqual(summary.shipped, { batches: data === 'coordinator' ? STEPS * WORKERS : 0, bytes: imageBytes });
      // What the coordinator says it shipped is what reached the fakes.
      assert.equal(fakes.bytes().images, imageBytes);
    } finally {
      clearTimeout(timer);
      coordinator.child.kill('SIGKILL');
      await fakes?.close();
    }
  });
}
