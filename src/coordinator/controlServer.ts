import * as zmq from 'zeromq';
import { decode, encode } from '../shared/codec.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { type CoordinatorMessage, PROTOCOL_VERSION, VersionMismatchError, type WorkerMessage, parseWorkerMessage } from '../shared/protocol.js';
import type { KeyPair } from '../shared/security/curveKeys.js';
import { DropCounter } from '../shared/transport/dropCounter.js';
import { SerialSender, receiveLoop } from '../shared/transport/zmqFrames.js';

export const CONTROL_ZAP_DOMAIN = 'trainer-control';

export interface ControlHandlers {
  onMessage(peer: string, msg: WorkerMessage): void;
  /** A peer that speaks another protocol version (first frame only; all are counted as dropped); the server has already replied with a reject. */
  onVersionMismatch(peer: string, err: VersionMismatchError): void;
}

/**
 * The coordinator's ROUTER socket. Peers are named by the hex of their ZeroMQ
 * routing id; frames that fail to decode or validate are dropped and counted.
 */
export class ControlServer {
  private readonly socket: zmq.Router;
  private readonly sender: SerialSender;
  private readonly ids = new Map<string, Buffer>();
  /** Peers already told that their protocol version is refused: told once, then only counted. */
  private readonly refused = new Set<string>();
  private readonly drops: DropCounter;
  private loop: Promise<void> | undefined;
  bytesSent = 0;
  bytesReceived = 0;

  /** With `curve`, only CURVE clients the ZAP handler admits (domain CONTROL_ZAP_DOMAIN) get through. */
  constructor(private readonly logger: Logger, curve?: KeyPair) {
    this.socket = new zmq.Router({
      linger: 2000,
      ...(curve ? { curveServer: true, curveSecretKey: curve.secretKey, curvePublicKey: curve.publicKey, zapDomain: CONTROL_ZAP_DOMAIN } : {}),
    });
    this.sender = new SerialSender(this.socket);
    this.drops = new DropCounter(logger, 'worker frame');
  }

  get dropped(): number {
    return this.drops.total;
  }

  async bind(endpoint: string): Promise<string> {
    try {
      await this.socket.bind(endpoint);
    } catch (err) {
      throw new ConfigError(`cannot bind ${endpoint}: ${errorMessage(err)}`);
    }
    return this.socket.lastEndpoint ?? endpoint;
  }

  listen(handlers: ControlHandlers): void {
    this.loop = receiveLoop(this.socket, (frames) => this.onFrames(frames, handlers));
  }

  private onFrames(frames: Buffer[], handlers: ControlHandlers): void {
    const [id, ...rest] = frames;
    if (!id) return;
    const peer = id.toString('hex');
    this.ids.set(peer, id);
    for (const f of rest) this.bytesReceived += f.byteLength;
    let msg: WorkerMessage;
    try {
      msg = parseWorkerMessage(decode(rest));
    } catch (err) {
      this.drops.drop(`peer ${peer}`, errorMessage(err));
      if (err instanceof VersionMismatchError && !this.refused.has(peer)) {
        this.refused.add(peer);
        void this.send(peer, { t: 'reject', v: PROTOCOL_VERSION, reason: err.message }).catch(() => undefined);
        handlers.onVersionMismatch(peer, err);
      }
      return;
    }
    handlers.onMessage(peer, msg);
  }

  /** A well-formed message the coordinator cannot accept from this peer: counted and logged like a malformed one. */
  drop(peer: string, reason: string): void {
    this.drops.drop(`peer ${peer}`, reason);
  }

  send(peer: string, msg: CoordinatorMessage): Promise<void> {
    return this.sendFrames(peer, encode(msg));
  }

  /** The same message to each of `peers`, encoded once (a go-ahead goes to every worker each step); one promise per peer. */
  sendToEach(peers: readonly string[], msg: CoordinatorMessage): Array<Promise<void>> {
    const frames = encode(msg);
    return peers.map((peer) => this.sendFrames(peer, frames));
  }

  private sendFrames(peer: string, frames: Buffer[]): Promise<void> {
    const id = this.ids.get(peer);
    if (!id) return Promise.reject(new Error(`unknown peer ${peer}`));
    for (const f of frames) this.bytesSent += f.byteLength;
    return this.sender.send([id, ...frames]);
  }

  async close(): Promise<void> {
    await this.sender.drain();
    this.socket.close();
    await this.loop?.catch((err: unknown) => this.logger.log('debug', `control server loop ended: ${errorMessage(err)}`));
  }
}
