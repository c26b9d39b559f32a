/**
 * bench:allreduce — time per all-reduce, algorithm and bus bandwidth for ring and
 * star over ZeroMQ on loopback, N worker processes, next to a raw PUSH/PULL stream
 * of the same bytes between two processes measured in the same run, and the ring
 * again with CURVE encryption and authentication (what --curve-keys costs).
 * Prints one JSON line on stdout (a table goes to stderr).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { DEFAULT_SEGMENT_ELEMENTS, ringAllReduce } from '../src/shared/allreduce/ring.js';
import { ControlLink } from '../src/worker/controlLink.js';
import { ZmqRingLink } from '../src/shared/transport/zmqRingLink.js';
import { silentLogger } from '../src/shared/logger.js';
import { PROTOCOL_VERSION } from '../src/shared/protocol.js';
import { startStarHub } from '../test/fixtures/starHub.js';
import { startZapHandler } from '../src/shared/transport/zapHandler.js';

const SELF = fileURLToPath(import.meta.url);
const MIB = 1024 * 1024;
const SIZES_MIB = [1, 4, 16];
const WORLDS = [2, 4];
const WARMUP = 3;
const itersFor = (mib: number): number => Math.max(10, Math.round(80 / mib));

type Msg = Record<string, unknown>;

function child(role: string, args: Msg): { proc: ChildProcess; next: () => Promise<Msg>; exited: Promise<unknown> } {
  const proc = fork(SELF, ['child', role, JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const queue: Msg[] = [];
  const waiters: Array<(m: Msg) => void> = [];
  proc.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m as Msg);
    else queue.push(m as Msg);
  });
  return { proc, exited, next: () => new Promise((resolve) => { const m = queue.shift(); if (m) resolve(m); else waiters.push(resolve); }) };
}

async function rawStream(bytes: number, iters: number): Promise<number> {
  const pull = child('pull', { bytes, iters });
  const { port } = await pull.next();
  const push = child('push', { bytes, iters, port });
  const { seconds } = await pull.next();
  await push.next();
  push.proc.send({ exit: true });
  await Promise.all([pull.exited, push.exited]);
  return (bytes * iters) / Number(seconds);
}

async function ringBench(world: number, bytes: number, iters: number, curve = false): Promise<number> {
  const kids = Array.from({ length: world }, (_, rank) => child('ring', { rank, world, bytes, iters, curve }));
  const hellos = await Promise.all(kids.map((k) => k.next()));
  kids.forEach((k) => k.proc.send({ ports: hellos.map((h) => h.port), keys: hellos.map((h) => h.publicKey) }));
  const times = await Promise.all(kids.map(async (k) => Number((await k.next()).seconds)));
  kids.forEach((k) => k.proc.send({ exit: true }));
  await Promise.all(kids.map((k) => k.exited));
  return Math.max(...times) / iters;
}

async function starBench(world: number, bytes: number, iters: number): Promise<number> {
  const { endpoint, close } = await startStarHub(world);
  const kids = Array.from({ length: world }, (_, rank) => child('star', { rank, world, bytes, iters, endpoint }));
  const times = await Promise.all(kids.map(async (k) => Number((await k.next()).seconds)));
  await close();
  return Math.max(...times) / iters;
}

async function runChild(role: string, a: Msg): Promise<void> {
  const send = (m: Msg): void => { process.send!(m); };
  const next = (): Promise<Msg> => new Promise((resolve) => process.once('message', (m) => resolve(m as Msg)));
  const bytes = Number(a.bytes);
  const iters = Number(a.iters);
  const buf = new Float32Array(bytes / 4).map((_, i) => i % 7);
  if (role === 'pull') {
    const sock = new zmq.Pull();
    await sock.bind('tcp://127.0.0.1:*');
    send({ port: Number(sock.lastEndpoint!.split(':').pop()) });
    let t0 = 0;
    for (let i = 0; i < iters + WARMUP; i++) {
      await sock.receive();
      if (i === WARMUP - 1) t0 = performance.now();
    }
    // The first timed message is the one after the warm-up ones; iters messages arrived in (now - t0).
    send({ seconds: (performance.now() - t0) / 1000 });
    sock.close();
  } else if (role === 'push') {
    const sock = new zmq.Push({ linger: 5000 });
    sock.connect(`tcp://127.0.0.1:${Number(a.port)}`);
    const frame = Buffer.from(buf.buffer);
    // A fresh copy per message, as the ring link sends: same work, fair comparison.
    for (let i = 0; i < iters + WARMUP; i++) await sock.send(Buffer.from(frame));
    send({ sent: true });
    await next(); // process.exit drops queued frames despite linger: leave only when the receiver has them all
    sock.close();
  } else if (role === 'ring') {
    const rank = Number(a.rank);
    const world = Number(a.world);
    const keys = a.curve ? zmq.curveKeyPair() : undefined;
    // Admits any CURVE client: what is measured here is the encryption, not the policy.
    if (keys) await startZapHandler(() => true, silentLogger, () => undefined);
    const link = new ZmqRingLink(silentLogger, 60_000, keys);
    send({ port: await link.bind('tcp://127.0.0.1:*'), publicKey: keys?.publicKey });
    const { ports, keys: publicKeys } = (await next()) as { ports: number[]; keys: Array<string | undefined> };
    link.expect({ lengths: { d: buf.length, g: buf.length }, segmentElements: DEFAULT_SEGMENT_ELEMENTS, maxWorld: world });
    link.begin(1, 0, world, (rank - 1 + world) % world, { endpoint: `tcp://127.0.0.1:${ports[(rank + 1) % world]}`, key: publicKeys[(rank + 1) % world] });
    // Two buffers in turn: the last segments of one call may still be in flight during the next (see ringAllReduce).
    const bufs = [buf, Float32Array.from(buf)];
    let t0 = 0;
    for (let i = 0; i < iters + WARMUP; i++) {
      if (i === WARMUP) t0 = performance.now();
      await ringAllReduce(bufs[i % 2]!, rank, world, link, i + 1, 'd');
    }
    send({ seconds: (performance.now() - t0) / 1000 });
    await next(); // the last chunk we sent may still be queued: leave when every rank is done
    await link.close();
  } else if (role === 'star') {
    const link = new ControlLink(silentLogger);
    link.connect(String(a.endpoint));
    await link.send({ t: 'hello', v: PROTOCOL_VERSION, backend: 'none', host: String(a.rank), pid: process.pid, dataEndpoint: 'tcp://127.0.0.1:1' });
    await new Promise((r) => setTimeout(r, 300));
    let t0 = 0;
    for (let i = 0; i < iters + WARMUP; i++) {
      if (i === WARMUP) t0 = performance.now();
      await link.send({ t: 'grad', v: PROTOCOL_VERSION, gen: 1, step: i + 1, phase: 'd', data: buf });
      await link.waitReduced(1, i + 1, 'd', 60_000);
    }
    send({ seconds: (performance.now() - t0) / 1000 });
    await link.close();
  }
  process.exit(0);
}

async function main(): Promise<void> {
  const raw: Array<{ mib: number; gbPerSecond: number }> = [];
  const results: Array<Record<string, number | string>> = [];
  for (const mib of SIZES_MIB) {
    const bytes = mib * MIB;
    const iters = itersFor(mib);
    const rawBps = await rawStream(bytes, iters);
    raw.push({ mib, gbPerSecond: rawBps / 1e9 });
    for (const world of WORLDS) {
      for (const algorithm of ['ring', 'star', 'ring+curve'] as const) {
        const seconds = algorithm === 'star' ? await starBench(world, bytes, iters) : await ringBench(world, bytes, iters, algorithm === 'ring+curve');
        const alg = bytes / seconds;
        const bus = (alg * 2 * (world - 1)) / world;
        results.push({ algorithm, world, mib, msPerAllreduce: seconds * 1000, algBandwidthGBs: alg / 1e9, busBandwidthGBs: bus / 1e9, busOverRaw: bus / rawBps });
        process.stderr.write(`${algorithm.padEnd(10)} N=${world} ${String(mib).padStart(2)} MiB  ${(seconds * 1000).toFixed(2).padStart(8)} ms  alg ${(alg / 1e9).toFixed(2)} GB/s  bus ${(bus / 1e9).toFixed(2)} GB/s  raw stream ${(rawBps / 1e9).toFixed(2)} GB/s  bus/raw ${(bus / rawBps).toFixed(2)}\n`);
      }
    }
  }
  console.log(JSON.stringify({ bench: 'allreduce', transport: 'zeromq tcp loopback', cpus: (await import('node:os')).cpus().length, raw, results }));
}

if (process.argv[2] === 'child') await runChild(process.argv[3]!, JSON.parse(process.argv[4]!) as Msg);
else await main();
