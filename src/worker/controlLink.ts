import * as zmq from 'zeromq';
import { decode, encode } from '../shared/codec.js';
import { ConfigError, GenerationAborted, TimeoutError, errorMessage } from '../shared/errors.js';
import { Mailbox } from '../shared/mailbox.js';
import { KeyedInbox } from '../shared/keyedInbox.js';
import type { Logger } from '../shared/logger.js';
import {
  type Batch, type CoordinatorMessage, type Go, type Phase, type Reduced, type Reject, type Shutdown, type Start, type Welcome,
  type WorkerMessage, parseCoordinatorMessage,
} from '../shared/protocol.js';
import { type CurveClient, curveClientOptions } from '../shared/security/curveKeys.js';
import { DropCounter } from '../shared/transport/dropCounter.js';
import { SerialSender, receiveLoop } from '../shared/transport/zmqFrames.js';

/** Ends every wait of the worker when the coordinator says stop (or stop with an error). */
export class ShutdownSignal extends Error {
  constructor(readonly shutdown: Shutdown) {
    super(shutdown.ok ? 'coordinator ended the run' : `coordinator stopped the run: ${shutdown.reason}`);
    this.name = 'ShutdownSignal';
  }
}

/** Raised when the coordinator refuses this worker at the handshake. */
export class RejectedError extends Error {
  constructor(readonly reject: Reject) {
    super(`coordinator refused this worker: ${reject.reason}`);
    this.name = 'RejectedError';
  }
}

/**
 * The worker's DEALER connection to the coordinator. Incoming messages are
 * validated and parked by kind: handshake replies, prefetched batches by step,
 * star-reduced gradients by (step, phase).
 */
export class ControlLink {
  private readonly socket: zmq.Dealer;
  private readonly sender: SerialSender;
  private readonly welcome = new KeyedInbox<'welcome', Welcome>();
  private readonly starts = new Mailbox<Start>();
  /** Keyed by `gen/step`. */
  private readonly batches = new KeyedInbox<string, Batch | Go>();
  /** Keyed by `gen/step/phase`. */
  private readonly reduced = new KeyedInbox<string, Reduced>();
  /** The newest generation the coordinator abandoned. */
  private abortedGen = 0;
  private readonly drops: DropCounter;
  private loop: Promise<void> | undefined;
  private shutdownMsg: Shutdown | undefined;
  private shutdownWaiters: Array<{ gen: number; resolve: (s: Shutdown) => void; reject: (e: Error) => void }> = [];
  private failedWith: Error | undefined;
  /** Called when the coordinator asks for this replica's state after a step. */
  onCheckpointRequest: ((step: number) => void) | undefined;
  /** Called when the coordinator abandons a generation (after this link's own waits of it have failed). */
  onAbort: ((gen: number) => void) | undefined;

  constructor(private readonly logger: Logger, curve?: CurveClient) {
    this.socket = new zmq.Dealer({ linger: 2000, ...curveClientOptions(curve) });
    this.sender = new SerialSender(this.socket);
    this.drops = new DropCounter(logger, 'coordinator frame');
  }

  get dropped(): number {
    return this.drops.total;
  }

  /** Whether connect was called: before that, nothing can be sent. */
  connected = false;

  connect(endpoint: string): void {
    this.socket.connect(endpoint);
    this.connected = true;
    this.loop = receiveLoop(this.socket, (frames) => this.onFrames(frames));
  }

  private onFrames(frames: Buffer[]): void {
    let msg: CoordinatorMessage;
    try {
      msg = parseCoordinatorMessage(decode(frames));
    } catch (err) {
      this.drops.drop('coordinator', errorMessage(err));
      return;
    }
    switch (msg.t) {
      case 'welcome':
        if (!this.welcome.put(msg.t, msg)) this.drops.drop('coordinator', 'duplicate welcome');
        break;
      case 'start':
        this.starts.push(msg);
        break;
      case 'abort':
        this.abort(msg.gen);
        break;
      case 'reject':
        this.closeAll(new RejectedError(msg));
        break;
      case 'batch':
      case 'go':
        if (msg.gen <= this.abortedGen) this.drops.drop('coordinator', `batch of abandoned generation ${msg.gen}`);
        else this.park(msg);
        break;
      case 'reduced':
        if (msg.gen <= this.abortedGen) this.drops.drop('coordinator', `reduced gradients of abandoned generation ${msg.gen}`);
        else if (!this.reduced.put(`${msg.gen}/${msg.step}/${msg.phase}`, msg)) this.drops.drop('coordinator', `duplicate reduced gradients for step ${msg.step}`);
        break;
      case 'checkpoint':
        this.onCheckpointRequest?.(msg.step);
        break;
      case 'heartbeat':
        // Heartbeats go to the heartbeat thread's own connection; one here is harmless.
        break;
      case 'shutdown':
        this.shutdownMsg = msg;
        this.closeAll(new ShutdownSignal(msg));
        for (const w of this.shutdownWaiters) w.resolve(msg);
        this.shutdownWaiters = [];
        break;
    }
  }

  private abort(gen: number): void {
    if (gen <= this.abortedGen) return;
    this.abortedGen = gen;
    const err = new GenerationAborted(gen);
    const ofAborted = (key: string): boolean => Number(key.slice(0, key.indexOf('/'))) <= gen;
    this.batches.rejectWaiting(ofAborted, err);
    this.reduced.rejectWaiting(ofAborted, err);
    this.batches.prune(ofAborted);
    this.reduced.prune(ofAborted);
    this.shutdownWaiters = this.shutdownWaiters.filter((w) => {
      if (w.gen > gen) return true;
      w.reject(err);
      return false;
    });
    this.onAbort?.(gen);
  }

  /** Whether the coordinator has abandoned generation `gen`. */
  aborted(gen: number): boolean {
    return gen <= this.abortedGen;
  }

  /** Ends every current and future wait with `err` (the coordinator is gone). */
  fail(err: Error): void {
    this.closeAll(err);
    this.failedWith = err;
    for (const w of this.shutdownWaiters) w.reject(err);
    this.shutdownWaiters = [];
  }

  private closeAll(err: Error): void {
    this.welcome.close(err);
    this.starts.close(err);
    this.batches.close(err);
    this.reduced.close(err);
  }

  send(msg: WorkerMessage): Promise<void> {
    return this.sender.send(encode(msg));
  }

  /**
   * Sends the hello and waits for the welcome, the two together within `timeoutMs`. The deadline
   * starts before the send: a send ZeroMQ cannot complete (no usable connection, as after a refused
   * CURVE handshake) would otherwise hold the worker before its timeout ever began.
   */
  async handshake(hello: WorkerMessage, timeoutMs: number, endpoint: string): Promise<Welcome> {
    // Never answered at all: a wrong --coordinator (or keys it does not accept), so a usage error.
    const welcome = this.welcome.take('welcome', timeoutMs, () => new ConfigError(`no answer from the coordinator at ${endpoint} within ${timeoutMs} ms (is it running and reachable, and does it accept this worker's CURVE key, if any?)`));
    // Whichever settles first: a failed send, or the welcome (or its timeout) while the send still hangs.
    const [, answer] = await Promise.all([Promise.race([this.send(hello), welcome]), welcome]);
    return answer;
  }

  /** The next generation's start after generation `afterGen` (older ones, overtaken by events, are skipped). */
  async waitStart(afterGen: number, timeoutMs: number): Promise<Start> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = Math.max(0, deadline - performance.now());
      const start = await this.starts.take(left, () => new TimeoutError(`coordinator did not start ${afterGen === 0 ? 'training' : 'the next generation'} within ${timeoutMs} ms`));
      if (start.gen > afterGen) return start;
      this.drops.drop('coordinator', `start of generation ${start.gen} after generation ${afterGen}`);
    }
  }

  /** A batch under its step; a go-ahead under each step it grants, so the training loop takes one per step either way. */
  private park(msg: Batch | Go): void {
    const through = msg.t === 'go' ? msg.through : msg.step;
    for (let step = msg.step; step <= through; step++) {
      const one = msg.t === 'go' ? { ...msg, step, through: step } : msg;
      if (!this.batches.put(`${msg.gen}/${step}`, one)) this.drops.drop('coordinator', `duplicate batch for step ${step}`);
    }
  }

  /** Step `step`'s batch, or with --data local the coordinator's go-ahead for it (the worker then cuts its own slice). */
  waitBatch(gen: number, step: number, timeoutMs: number): Promise<Batch | Go> {
    if (this.aborted(gen)) return Promise.reject(new GenerationAborted(gen));
    return this.batches.take(`${gen}/${step}`, timeoutMs, () => new TimeoutError(`no batch for step ${step} from the coordinator within ${timeoutMs} ms`));
  }

  waitReduced(gen: number, step: number, phase: Phase, timeoutMs: number): Promise<Reduced> {
    if (this.aborted(gen)) return Promise.reject(new GenerationAborted(gen));
    return this.reduced.take(`${gen}/${step}/${phase}`, timeoutMs, () => new TimeoutError(`star all-reduce: no averaged gradients for step ${step} phase ${phase} within ${timeoutMs} ms`));
  }

  /** The coordinator's final word, or a timeout error; fails with GenerationAborted if generation `gen` is abandoned first. */
  waitShutdown(gen: number, timeoutMs: number): Promise<Shutdown> {
    if (this.shutdownMsg) return Promise.resolve(this.shutdownMsg);
    if (this.failedWith) return Promise.reject(this.failedWith);
    if (this.aborted(gen)) return Promise.reject(new GenerationAborted(gen));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`coordinator did not end the run within ${timeoutMs} ms`)), timeoutMs);
      this.shutdownWaiters.push({
        gen,
        resolve: (s) => { clearTimeout(timer); resolve(s); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
  }

  async close(): Promise<void> {
    this.closeAll(new Error('control link closed'));
    // A send to a coordinator that never answered (or was never connected) waits forever: bound it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.sender.drain(), new Promise<void>((resolve) => { timer = setTimeout(resolve, 2000); })]);
    clearTimeout(timer);
    this.socket.close();
    await this.loop?.catch((err: unknown) => this.logger.log('debug', `control receive loop ended: ${errorMessage(err)}`));
  }
}
