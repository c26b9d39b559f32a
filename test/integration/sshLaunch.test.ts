import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CLI, jsonLines, runCli, startCli, tempDir, testPort, waitFor } from '../helpers.js';
import { SSHD, type TestSshd, startSshd } from '../fixtures/sshd.js';

// npm test installs Debian's openssh-server (scripts/testSetup.sh); without it this suite fails rather than skips.
let sshd: TestSshd;
before(async () => {
  assert.ok(existsSync(SSHD), `${SSHD} is missing: install openssh-server (apt-get install openssh-server)`);
  sshd = await startSshd(tempDir('sshd'), testPort());
});
after(() => sshd?.stop());

/** The coordinator flags that launch workers over ssh on this machine's sshd, as two hosts. */
function launchFlags(hosts: string, remoteTrainer = `${process.execPath} ${CLI}`): string[] {
  return ['--hosts', hosts, '--ssh-port', String(sshd.port), '--ssh-command', sshd.sshCommand, '--remote-trainer', remoteTrainer, '--advertise', '127.0.0.1'];
}

/** Launched workers still running for the coordinator on `port` (their command line names it). */
function workersOf(port: number): string[] {
  try {
    return execFileSync('pgrep', ['-af', `worker --coordinator tcp://127.0.0.1:${port}`], { encoding: 'utf8' }).trim().split('\n').filter((l) => !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test('--hosts starts the workers over ssh, relays their logs by rank, and finishes with identical replicas', async () => {
  const out = tempDir('ssh-run');
  const port = testPort();
  const r = await runCli(['coordinator', '--workers', '2', ...launchFlags('127.0.0.1:1,localhost:1'), '--steps', '4', '--batch-size', '8',
    '--port', String(port), '--no-metrics', '--backend', 'wasm', '--log-format', 'json', '--out', out], 180_000);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const records = jsonLines(r.stderr);
  for (const [rank, host] of [[0, '127.0.0.1'], [1, 'localhost']] as const) {
    const mine = records.filter((l) => l.source === `worker ${rank}@${host}`);
    assert.ok(mine.length > 0, `no relayed lines from worker ${rank}@${host}`);
    assert.ok(mine.every((l) => l.launchRank === rank && l.host === host));
    // The worker took the rank of its slot (--rank), so the prefix tells the truth.
    assert.ok(mine.some((l) => typeof l.msg === 'string' && l.msg.startsWith(`generation 1: rank ${rank} of 2`)), `worker ${rank}@${host} did not train as rank ${rank}`);
    const finished = mine.find((l) => l.msg === 'training finished');
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { replicaHash: string };
    assert.equal(finished?.hash, summary.replicaHash);
  }
  assert.deepEqual(workersOf(port), []);
});

test('a coordinator that dies takes its ssh-launched workers with it', async () => {
  const port = testPort();
  const run = startCli(['coordinator', '--workers', '2', ...launchFlags('127.0.0.1:2'), '--steps', '100000', '--batch-size', '8',
    '--port', String(port), '--no-metrics', '--backend', 'wasm', '--log-format', 'json', '--out', tempDir('ssh-kill'), '--worker-timeout', '600', '--heartbeat-interval', '60']);
  try {
    await waitFor(() => jsonLines(run.output()).some((l) => l.msg === 'step' && Number(l.step) >= 2), 120_000, 'training over ssh');
    assert.equal(workersOf(port).length, 2, 'both remote workers run');
    // SIGKILL: no cleanup code runs. The ssh clients' stdin closes with the coordinator, the sessions end,
    // and the workers (--stop-on-stdin-close) exit; their heartbeat timeout alone (600 s here) would take ten minutes.
    run.child.kill('SIGKILL');
    await run.exited;
    await waitFor(() => workersOf(port).length === 0, 20_000, 'the remote workers to exit');
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('a worker that cannot start on its host fails the run at once, naming the host', async () => {
  const port = testPort();
  const r = await runCli(['coordinator', '--workers', '2', ...launchFlags('127.0.0.1:1,localhost:1', '/nonexistent/trainer'), '--steps', '4',
    '--port', String(port), '--no-metrics', '--backend', 'wasm', '--log-format', 'json', '--out', tempDir('ssh-bad'), '--register-timeout', '60'], 60_000);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /worker [01] on (127\.0\.0\.1|localhost) \(process \d+\) exited with 127/);
  assert.ok(jsonLines(r.stderr).some((l) => typeof l.source === 'string' && /nonexistent\/trainer/.test(String(l.msg))), 'the remote shell\'s complaint is relayed');
});

test('with --curve-keys, each launched worker uses its host\'s key pair (named after the host) and only those are admitted', async () => {
  const keys = tempDir('ssh-keys');
  for (const name of ['coordinator', '127.0.0.1', 'localhost']) {
    const k = await runCli(['keygen', '--out', keys, '--name', name]);
    assert.equal(k.code, 0, k.stderr);
  }
  const out = tempDir('ssh-curve');
  const r = await runCli(['coordinator', '--workers', '2', ...launchFlags('127.0.0.1:1,localhost:1'), '--curve-keys', keys, '--steps', '3', '--batch-size', '8',
    '--port', String(testPort()), '--no-metrics', '--backend', 'wasm', '--log-format', 'json', '--out', out], 180_000);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.ok(!/refused a CURVE client/.test(r.stderr));
  const finished = jsonLines(r.stderr).filter((l) => l.msg === 'training finished').map((l) => l.source);
  assert.deepEqual(finished.sort(), ['worker 0@127.0.0.1', 'worker 1@localhost']);
});
