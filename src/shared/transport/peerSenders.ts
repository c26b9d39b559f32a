import * as zmq from 'zeromq';
import type { KeyPair } from '../security/curveKeys.js';
import { SerialSender } from './zmqFrames.js';

export interface PeerAddress {
  endpoint: string;
  /** The peer's CURVE public key (CURVE runs only). */
  key?: string | undefined;
}

/** A sending socket to one peer's data port: DEALER under CURVE (see ZmqRingLink), PUSH otherwise. */
export function openPush(peer: PeerAddress, curve: KeyPair | undefined): zmq.Push | zmq.Dealer {
  const push = curve ? new zmq.Dealer({ linger: 1000 }) : new zmq.Push({ linger: 1000 });
  if (curve && peer.key) {
    push.curveServerKey = peer.key;
    push.curvePublicKey = curve.publicKey;
    push.curveSecretKey = curve.secretKey;
  }
  push.connect(peer.endpoint);
  return push;
}

/**
 * One generation's sockets to the ranks a peer-to-peer algorithm talks to, each
 * opened on first use (halving-doubling needs log2 N of them, not N) and all
 * closed with the generation. One connection per peer keeps its chunks in order.
 */
export class PeerSenders {
  private readonly open = new Map<number, { socket: zmq.Push | zmq.Dealer; sender: SerialSender }>();
  readonly successor: number;

  constructor(readonly rank: number, private readonly peers: readonly PeerAddress[], private readonly curve: KeyPair | undefined) {
    if (rank < 0 || rank >= peers.length) throw new RangeError(`rank ${rank} is outside a roster of ${peers.length}`);
    this.successor = (rank + 1) % peers.length;
  }

  sender(to: number): SerialSender {
    const known = this.open.get(to);
    if (known) return known.sender;
    const peer = this.peers[to];
    if (!peer || to === this.rank) throw new RangeError(`rank ${this.rank} cannot send to rank ${to} in a roster of ${this.peers.length}`);
    const socket = openPush(peer, this.curve);
    const entry = { socket, sender: new SerialSender(socket) };
    this.open.set(to, entry);
    return entry.sender;
  }

  close(): void {
    for (const { socket } of this.open.values()) socket.close();
    this.open.clear();
  }
}
