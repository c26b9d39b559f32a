import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as zmq from 'zeromq';
import type { Summary } from '../../src/coordinator/summary.js';
import { encode } from '../../src/shared/codec.js';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.js';
import { jsonLines, runCli, startCli, tempDir, testPort, waitFor } from '../helpers.js';

test('trainer keygen writes Z85 key pairs, the secret one private, and admits workers via authorized/', async () => {
  const keys = tempDir('keys');
  for (const name of ['coordinator', 'w1']) assert.equal((await runCli(['keygen', '--out', keys, '--name', name])).code, 0);
  for (const f of ['coordinator.pub', 'coordinator.key', 'w1.pub', 'w1.key', 'authorized/w1.pub']) assert.ok(existsSync(path.join(keys, f)), f);
  assert.ok(!existsSync(path.join(keys, 'authorized', 'coordinator.pub')));
  assert.match(readFileSync(path.join(keys, 'w1.pub'), 'utf8'), /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}\n$/);
  assert.equal(statSync(path.join(keys, 'w1.key')).mode & 0o777, 0o600);
  const again = await runCli(['keygen', '--out', keys, '--name', 'w1']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /w1 keys already exist/);
});

test('CURVE: authorized workers train over encrypted control and ring links; a keyless or unknown client cannot register or inject', async () => {
  const keys = tempDir('curve');
  const stranger = tempDir('stranger');
  for (const [dir, name] of [[keys, 'coordinator'], [keys, 'a'], [keys, 'b'], [stranger, 'coordinator'], [stranger, 'mallory']] as const) {
    assert.equal((await runCli(['keygen', '--out', dir, '--name', name])).code, 0);
  }
  const out = tempDir('curve-run');
  const port = testPort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const common = ['--log-format', 'json', '--advertise', '127.0.0.1', '--bind-host', '127.0.0.1'];
  const coordinator = startCli(['coordinator', '--workers', '2', '--port', String(port), '--bind', '127.0.0.1', '--out', out, '--log-format', 'json', '--limit', '256',
    '--batch-size', '8', '--steps', '20', '--sample-every', '0', '--check-every', '5', '--curve-keys', keys, '--register-timeout', '60']);
  // Before the real workers: one with no keys and one whose key is not on the list. Neither gets an answer.
  const keyless = await runCli(['worker', '--coordinator', endpoint, ...common, '--connect-timeout', '2']);
  assert.equal(keyless.code, 2);
  assert.match(keyless.stderr, /no answer from the coordinator/);
  // Mallory knows the coordinator's public key (it is public) but holds a key of her own.
  const { copyFileSync } = await import('node:fs');
  copyFileSync(path.join(keys, 'coordinator.pub'), path.join(stranger, 'coordinator.pub'));
  const unknown = await runCli(['worker', '--coordinator', endpoint, ...common, '--connect-timeout', '2', '--curve-keys', stranger, '--curve-name', 'mallory']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no answer from the coordinator/);
  // A plain-TCP intruder's frames never reach the coordinator's handler.
  const intruder = new zmq.Dealer({ linger: 0, sendTimeout: 500 });
  intruder.connect(endpoint);
  await intruder.send(encode({ t: 'hello', v: PROTOCOL_VERSION, backend: 'x', host: 'evil', pid: 1, dataEndpoint: 'tcp://127.0.0.1:9' })).catch(() => undefined);
  const workers = ['a', 'b'].map((name) => startCli(['worker', '--coordinator', endpoint, ...common, '--curve-keys', keys, '--curve-name', name]));
  const ringIntruders: zmq.Dealer[] = [];
  try {
    await waitFor(() => jsonLines(coordinator.output()).some((l) => l.msg === 'step'), 60_000, 'training to start',
      () => [coordinator, ...workers].map((p, i) => `--- ${['coordinator', 'worker a', 'worker b'][i]}:\n${p.output().slice(-4000)}`).join('\n'));
    // At worker a's ring port: a plain client, and Mallory with a valid CURVE key that is not a's predecessor's.
    const ringPort = String(jsonLines(workers[0]!.output()).find((l) => typeof l.dataEndpoint === 'string')!.dataEndpoint);
    const chunk = encode({ t: 'chunk', v: PROTOCOL_VERSION, gen: 1, step: 3, phase: 'd', seq: 0, data: new Float32Array(8) });
    const mallory = { curveServerKey: readFileSync(path.join(keys, 'a.pub'), 'utf8').trim(), curvePublicKey: readFileSync(path.join(stranger, 'mallory.pub'), 'utf8').trim(), curveSecretKey: readFileSync(path.join(stranger, 'mallory.key'), 'utf8').trim() };
    for (const options of [{}, mallory]) {
      const s = new zmq.Dealer({ linger: 0, sendTimeout: 200, ...options });
      ringIntruders.push(s);
      s.connect(ringPort);
      for (let i = 0; i < 3; i++) await s.send(chunk).catch(() => undefined);
    }
    assert.equal(await coordinator.exited, 0, coordinator.output().slice(-3000));
    assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
    assert.equal(summary.workers, 2);
    assert.equal(summary.droppedFrames, 0, 'nothing unauthenticated got as far as being decoded');
    const log = coordinator.output();
    assert.ok(!/evil/.test(log));
    assert.ok(jsonLines(log).some((l) => l.level === 'warn' && /refused a CURVE client on trainer-control: key .+ is not in the allow-list/.test(String(l.msg))));
    assert.equal(jsonLines(log).filter((l) => /\) registered \(backend/.test(String(l.msg))).length, 2, 'only the two authorized workers registered');
    // Nothing from the ring intruders reached worker a's decoder; Mallory's handshake was refused by name.
    const a = workers[0]!.output();
    assert.equal(jsonLines(a).find((l) => l.msg === 'training finished')?.droppedFrames, 0);
    assert.ok(jsonLines(a).some((l) => l.level === 'warn' && /refused a CURVE client on the ring port: key .+ is not this worker's predecessor/.test(String(l.msg))));
  } finally {
    for (const s of ringIntruders) s.close();
    intruder.close();
    coordinator.child.kill('SIGKILL');
    for (const w of workers) w.child.kill('SIGKILL');
  }
});
