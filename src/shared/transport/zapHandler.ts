import * as zmq from 'zeromq';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { z85Encode } from '../security/z85.js';

/** Decides a CURVE client by its public key (Z85) and the ZAP domain of the socket it connects to. */
export type ZapPolicy = (publicKey: string, domain: string) => boolean;

/**
 * ZeroMQ's authentication hook (ZAP, RFC 27): libzmq asks this in-process
 * handler about every CURVE handshake on a socket with a zapDomain; a "400"
 * reply closes the connection before any message of the client is delivered.
 * One per process (the endpoint is fixed).
 */
export async function startZapHandler(policy: ZapPolicy, logger: Logger, onRefused: (publicKey: string, domain: string) => void): Promise<{ close(): void }> {
  const socket = new zmq.Router({ linger: 0 });
  await socket.bind('inproc://zeromq.zap.01');
  const loop = (async () => {
    for await (const frames of socket) {
      // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
      const [id, empty, version, requestId, domain, , , mechanism, key] = frames;
      if (!id || !empty || !version || !requestId) continue;
      const d = domain?.toString() ?? '';
      const client = mechanism?.toString() === 'CURVE' && key?.length === 32 ? z85Encode(key) : '';
      const ok = client !== '' && policy(client, d);
      if (!ok) onRefused(client, d);
      await socket.send([id, empty, version, requestId, Buffer.from(ok ? '200' : '400'), Buffer.from(ok ? 'OK' : 'key not allowed'), Buffer.from(ok ? client : ''), Buffer.alloc(0)]);
    }
  })().catch((err: unknown) => logger.log('debug', `ZAP handler ended: ${errorMessage(err)}`));
  return {
    close() {
      socket.close();
      void loop;
    },
  };
}
