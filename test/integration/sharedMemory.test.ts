import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Summary } from '../../src/coordinator/summary.js';
import { jsonLines, startCli, tempDir, testPort, waitFor } from '../helpers.js';

type Proc = ReturnType<typeof startCli>;

/** A coordinator and one worker command per entry of `workers` (its extra flags), over loopback, all on this host; `during` runs alongside. */
async function run(coordinatorArgs: string[], workers: string[][], during?: (c: Proc) => Promise<void>): Promise<{ summary: Summary; log: string; workerLogs: string[]; victims: Proc[] }> {
  const out = tempDir('shm');
  const port = testPort();
  const c = startCli(['coordinator', '--workers', String(workers.length), '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json',
    '--limit', '256', '--batch-size', '8', '--check-every', '2', '--timeout', '30', '--register-timeout', '60', ...coordinatorArgs]);
  const ws = workers.map((extra) => startCli(['worker', '--coordinator', `tcp://127.0.0.1:${port}`, '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1', '--log-format', 'json', ...extra]));
  const timer = setTimeout(() => { for (const p of [c, ...ws]) p.child.kill('SIGKILL'); }, 150_000);
  try {
    await during?.(c);
    assert.equal(await c.exited, 0, c.output().slice(-3000));
    const codes = await Promise.all(ws.map((w) => w.exited));
    // A worker killed by its own fault hook exits on SIGKILL (code null); every other one exits 0.
    const victims = ws.filter((_, i) => codes[i] === null);
    for (const [i, code] of codes.entries()) if (code !== null) assert.equal(code, 0, ws[i]!.output().slice(-2000));
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    return { summary, log: c.output(), workerLogs: ws.filter((w) => !victims.includes(w)).map((w) => w.output()), victims };
  } finally {
    clearTimeout(timer);
    for (const p of [c, ...ws]) p.child.kill('SIGKILL');
  }
}

/** The segments the coordinator named, one per generation that used shared memory. */
const segments = (log: string): string[] => jsonLines(log).flatMap((l) => (typeof l.sharedMemory === 'string' ? [l.sharedMemory] : []));
const finalHashes = (logs: string[]): unknown[] => logs.flatMap((w) => jsonLines(w).filter((l) => l.msg === 'training finished').map((l) => l.hash));

test('2 workers over --allreduce shm end at the ring\'s replica bit for bit, leave nothing in /dev/shm; a worker that cannot map makes auto fall back to the links, saying why', async () => {
  const flags = ['--steps', '6'];
  const ring = await run([...flags, '--allreduce', 'ring'], [[], []]);
  const shm = await run([...flags, '--allreduce', 'shm'], [[], []]);
  assert.equal(shm.summary.sharedMemory, true, 'summary.json records the shared-memory all-reduce');
  const [name] = segments(shm.log);
  assert.match(name ?? '', /^\/trainer-[0-9a-f]+-g1$/, shm.log.slice(-2000));
  assert.equal(existsSync(`/dev/shm${name}`), false, 'the segment is unlinked once every rank has mapped it');
  // Two ranks: the owner of each chunk computes (own + peer) × ½ in the ring, slot 0 + slot 1 times ½ here; addition commutes.
  assert.equal(shm.summary.replicaHash, ring.summary.replicaHash, 'the ring\'s replica');
  assert.deepEqual(shm.summary.final, ring.summary.final);
  assert.deepEqual(finalHashes(shm.workerLogs), [ring.summary.replicaHash, ring.summary.replicaHash]);

  // Worker 2's loader fails as where the addon is missing: auto probes and runs over the links, with the ring's bits.
  const fallback = await run([...flags, '--allreduce', 'auto'], [[], ['--fault-no-shm']]);
  assert.equal(fallback.summary.sharedMemory, false);
  assert.deepEqual(segments(fallback.log), []);
  assert.match(fallback.log, /generation 1 all-reduce: over the links, not shared memory: rank \d cannot map shared memory/);
  assert.equal(fallback.workerLogs.filter((w) => /no shared-memory all-reduce from this worker \(disabled by --fault-no-shm\)/.test(w)).length, 1, 'the worker that cannot map says why, once');
  assert.ok(fallback.summary.allreduceChoice, 'auto probed the links instead');
  assert.equal(fallback.summary.replicaHash, ring.summary.replicaHash);
});

test('kill -9 of one of 3 workers mid shared-memory all-reduce with --min-workers 2: the survivors roll back, go on through a fresh segment, and end identical', async () => {
  // While the run goes on (step 3 done, the coordinator still running): generation 1's name is already gone, so the kill leaves nothing.
  let midRun: { running: boolean; named: boolean } | undefined;
  const { summary, log, workerLogs, victims } = await run(
    ['--min-workers', '2', '--steps', '12', '--allreduce', 'shm', '--heartbeat-interval', '0.5', '--worker-timeout', '2', '--log-every', '1'],
    [['--backend', 'wasm'], ['--backend', 'wasm', '--fault-kill-step', '6'], ['--backend', 'wasm']],
    async (c) => {
      await waitFor(() => jsonLines(c.output()).some((l) => l.msg === 'step' && Number(l.step) >= 3), 60_000, 'step 3');
      midRun = { running: c.child.exitCode === null, named: existsSync(`/dev/shm${segments(c.output())[0]}`) };
    },
  );
  assert.deepEqual(midRun, { running: true, named: false }, 'unlinked once every rank mapped it, long before the run ends');
  assert.equal(victims.length, 1, 'the worker with the fault died of SIGKILL');
  assert.equal(summary.membership.workersLost, 1);
  const change = summary.membership.changes[0]!;
  assert.equal(change.workers, 2);
  // Nobody passes step 6's generator barriers without the victim: every survivor rolls back to step 5.
  assert.equal(change.step, 5, log.slice(-3000));
  for (const w of workerLogs) assert.match(w, /generation 1 abandoned by the coordinator; rolled back to step 5/);
  assert.deepEqual(finalHashes(workerLogs), [summary.replicaHash, summary.replicaHash], 'both survivors hold the checked replica');
  const names = segments(log);
  assert.equal(names.length, 2, 'a segment per generation');
  assert.match(names[1]!, /-g2$/);
  assert.equal(summary.sharedMemory, true);
  for (const name of names) assert.equal(existsSync(`/dev/shm${name}`), false, `${name} is not left in /dev/shm`);
});
