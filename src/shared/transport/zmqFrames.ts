type Writable = { send(msg: Buffer[]): Promise<void> };
type Readable = AsyncIterable<Buffer[]>;

/**
 * zeromq.js allows one pending send per socket; this queues sends so callers
 * may fire from anywhere, in order, with back-pressure from the high-water mark.
 */
export class SerialSender {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly socket: Writable) {}

  send(frames: Buffer[]): Promise<void> {
    const next = this.tail.then(() => this.socket.send(frames));
    // A failed send must not wedge the queue; the caller still sees its own error.
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves when everything queued so far has been handed to ZeroMQ. */
  drain(): Promise<void> {
    return this.tail;
  }
}

/** Runs `onMessage` for each multipart message until the socket closes. */
export async function receiveLoop(socket: Readable, onMessage: (frames: Buffer[]) => void): Promise<void> {
  try {
    for await (const frames of socket) onMessage(frames);
  } catch (err) {
    // Closing a socket ends its iterator with EAGAIN/ETERM-style errors; anything else is real.
    const code = (err as { code?: string }).code;
    if (code !== 'EAGAIN' && code !== 'ETERM') throw err;
  }
}

