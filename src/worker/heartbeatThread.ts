/**
 * Runs in a worker thread, so heartbeats flow while the main thread is busy
 * inside a long synchronous TensorFlow.js computation. Its own DEALER socket
 * sends a heartbeat every interval and listens for the coordinator's; when
 * the coordinator has been silent longer than the timeout it tells the main
 * thread, which ends the process with a distinct exit code.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as zmq from 'zeromq';
import { decode, encode } from '../shared/codec.js';
import { PROTOCOL_VERSION, parseCoordinatorMessage } from '../shared/protocol.js';
import { type CurveClient, curveClientOptions } from '../shared/security/curveKeys.js';

export interface HeartbeatOptions {
  coordinator: string;
  /** The worker's id for the run (its rank may change). */
  id: number;
  session: string;
  intervalMs: number;
  timeoutMs: number;
  curve?: CurveClient;
}

/** What the thread posts to the main thread. */
export type HeartbeatReport = { kind: 'coordinatorLost'; silentMs: number };

const opts = workerData as HeartbeatOptions;
// sendTimeout 0: with no coordinator to take it, a heartbeat is dropped rather than queued.
const socket = new zmq.Dealer({ linger: 0, sendTimeout: 0, ...curveClientOptions(opts.curve) });
socket.connect(opts.coordinator);
let lastHeard = Date.now();

const receiving = (async () => {
  for await (const frames of socket) {
    try {
      if (parseCoordinatorMessage(decode(frames)).t === 'heartbeat') lastHeard = Date.now();
    } catch {
      // Anything else on this socket is not ours to judge; the main link validates and counts.
    }
  }
})();

const timer = setInterval(() => {
  const silentMs = Date.now() - lastHeard;
  if (silentMs > opts.timeoutMs) {
    clearInterval(timer);
    parentPort?.postMessage({ kind: 'coordinatorLost', silentMs } satisfies HeartbeatReport);
    return;
  }
  socket.send(encode({ t: 'heartbeat', v: PROTOCOL_VERSION, id: opts.id, session: opts.session })).catch(() => undefined);
}, opts.intervalMs);

parentPort?.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  socket.close();
  void receiving.catch(() => undefined).then(() => parentPort?.close());
});
