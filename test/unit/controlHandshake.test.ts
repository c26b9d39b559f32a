import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.js';
import { ControlLink } from '../../src/worker/controlLink.js';

const hello = { t: 'hello', v: PROTOCOL_VERSION, backend: 'wasm', host: 'h', pid: 1, dataEndpoint: 'tcp://127.0.0.1:9' } as const;

test('the handshake deadline covers the hello send: a send ZeroMQ never completes ends in the connect timeout, not a hang', async () => {
  const link = new ControlLink(silentLogger);
  link.connect('tcp://127.0.0.1:9');
  // As when no connection can take the hello (a refused CURVE handshake): the send never settles.
  link.send = () => new Promise<void>(() => undefined);
  const started = performance.now();
  await assert.rejects(link.handshake(hello, 300, 'tcp://127.0.0.1:9'), (err: unknown) => err instanceof ConfigError && /no answer from the coordinator at tcp:\/\/127\.0\.0\.1:9 within 300 ms/.test(err.message));
  assert.ok(performance.now() - started < 5_000);
  await link.close();
});

test('a hello the socket refuses fails the handshake at once with the send error', async () => {
  const link = new ControlLink(silentLogger);
  link.connect('tcp://127.0.0.1:9');
  link.send = () => Promise.reject(new Error('socket closed'));
  await assert.rejects(link.handshake(hello, 60_000, 'tcp://127.0.0.1:9'), /socket closed/);
  await link.close();
});
