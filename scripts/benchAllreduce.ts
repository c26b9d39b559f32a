/**
 * bench:allreduce — time per all-reduce, algorithm and bus bandwidth for ring and
 * star over ZeroMQ on loopback, N worker processes, next to a raw PUSH/PULL stream
 * of the same bytes between two processes measured in the same run, and the ring
 * again with CURVE encryption and authentication (what --curve-keys costs), over
 * ipc:// Unix sockets (what workers on one host use; next to a raw ipc stream),
 * and with 16-bit values on the wire (--compression fp16; bus bandwidth counts the
 * float32 bytes averaged, so it can exceed the raw stream), and through POSIX
 * shared memory (shm: --allreduce shm, barriers in the segment, a futex word;
 * shm+msg: the same with its barriers as empty messages over the ipc ring link,
 * as where the addon lacks the word; their bus/raw is against the raw ipc stream).
 * BENCH_SIZES (MiB, default 1,4,16; fractions allowed: the MLP's gradients are
 * 2.035 (D) and 2.135 (G)), BENCH_WORLDS (default 2,4) and BENCH_ALGORITHMS
 * (default all) choose the runs.
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
import { wireCodec } from '../src/shared/allreduce/compression.js';
import { SharedMemoryGeneration, barrierWord, loadSharedMemory } from '../src/shared/transport/sharedMemory.js';
import { segmentName } from '../src/shared/allreduce/sharedMemoryPlan.js';
import type { Compression } from '../src/shared/config.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SELF = fileURLToPath(import.meta.url);
const MIB = 1024 * 1024;
const SIZES_MIB = (process.env.BENCH_SIZES ?? '1,4,16').split(',').map(Number);
const WORLDS = (process.env.BENCH_WORLDS ?? '2,4').split(',').map(Number);
const ALL_ALGORITHMS = ['ring', 'ring+ipc', 'ring+fp16', 'star', 'ring+curve', 'shm', 'shm+msg'] as const;
const ALGORITHMS = process.env.BENCH_ALGORITHMS ? process.env.BENCH_ALGORITHMS.split(',') : ALL_ALGORITHMS;
for (const a of ALGORITHMS) if (!(ALL_ALGORITHMS as readonly string[]).includes(a)) throw new Error(`BENCH_ALGORITHMS: ${a} is not one of ${ALL_ALGORITHMS.join(', ')}`);
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

async function rawStream(bytes: number, iters: number, ipc = false): Promise<number> {
  const pull = child('pull', { bytes, iters, ipc });
  const { endpoint } = await pull.next();
  const push = child('push', { bytes, iters, endpoint });
  const { seconds } = await pull.next();
  await push.next();
  push.proc.send({ exit: true });
  await Promise.all([pull.exited, push.exited]);
  return (bytes * iters) / Number(seconds);
}

/** CPU time (user + system, ZeroMQ's I/O threads included) of all ranks per all-reduce in the last ringBench. */
let lastRingCpuSeconds = 0;

async function ringBench(world: number, bytes: number, iters: number, variant: { curve?: boolean; ipc?: boolean; compression?: string; shm?: boolean; messageBarrier?: boolean } = {}): Promise<number> {
  const kids = Array.from({ length: world }, (_, rank) => child('ring', { rank, world, bytes, iters, ...variant }));
  const hellos = await Promise.all(kids.map((k) => k.next()));
  kids.forEach((k) => k.proc.send({ endpoints: hellos.map((h) => h.endpoint), keys: hellos.map((h) => h.publicKey) }));
  const done = await Promise.all(kids.map((k) => k.next()));
  kids.forEach((k) => k.proc.send({ exit: true }));
  await Promise.all(kids.map((k) => k.exited));
  lastRingCpuSeconds = done.reduce((sum, d) => sum + Number(d.cpuSeconds), 0) / iters;
  return Math.max(...done.map((d) => Number(d.seconds))) / iters;
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
    const dir = a.ipc ? mkdtempSync(path.join(os.tmpdir(), 'bench-ipc-')) : undefined;
    await sock.bind(dir ? `ipc://${path.join(dir, 'raw.sock')}` : 'tcp://127.0.0.1:*');
    send({ endpoint: sock.lastEndpoint });
    let t0 = 0;
    for (let i = 0; i < iters + WARMUP; i++) {
      await sock.receive();
      if (i === WARMUP - 1) t0 = performance.now();
    }
    // The first timed message is the one after the warm-up ones; iters messages arrived in (now - t0).
    send({ seconds: (performance.now() - t0) / 1000 });
    sock.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  } else if (role === 'push') {
    const sock = new zmq.Push({ linger: 5000 });
    sock.connect(String(a.endpoint));
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
    const port = await link.bind('tcp://127.0.0.1:*');
    send({ endpoint: a.ipc ? await link.bindIpc() : `tcp://127.0.0.1:${port}`, publicKey: keys?.publicKey });
    const { endpoints, keys: publicKeys } = (await next()) as { endpoints: string[]; keys: Array<string | undefined> };
    link.expect({ lengths: { d: buf.length, g: buf.length }, segmentElements: DEFAULT_SEGMENT_ELEMENTS, maxWorld: world, ...(a.shm ? { peerToPeer: true, sharedMemory: true } : {}) });
    link.begin(1, 0, world, (rank - 1 + world) % world, { endpoint: endpoints[(rank + 1) % world]!, key: publicKeys[(rank + 1) % world] });
    const codec = wireCodec((a.compression ?? 'none') as Compression);
    let shm: SharedMemoryGeneration | undefined;
    if (a.shm) {
      link.roster(rank, endpoints.map((endpoint) => ({ endpoint })));
      const addon = loadSharedMemory();
      const word = a.messageBarrier ? undefined : barrierWord(addon);
      if (!a.messageBarrier && !word) throw new Error('shm: the native addon has no barrier word (npm run build:native)');
      shm = new SharedMemoryGeneration(addon, segmentName(`${process.ppid.toString(16)}${world}${a.messageBarrier ? 0 : 1}${bytes.toString(16)}`, 1), rank, world, buf.length, silentLogger, word);
    }
    // Two buffers in turn: the last segments of one call may still be in flight during the next (see ringAllReduce).
    const bufs = [buf, Float32Array.from(buf)];
    let t0 = 0;
    let cpu0 = process.cpuUsage();
    for (let i = 0; i < iters + WARMUP; i++) {
      if (i === WARMUP) {
        t0 = performance.now();
        cpu0 = process.cpuUsage();
      }
      if (shm) await shm.reduce(bufs[i % 2]!, link, i + 1, 'd');
      else await ringAllReduce(bufs[i % 2]!, rank, world, link, i + 1, 'd', DEFAULT_SEGMENT_ELEMENTS, undefined, codec);
    }
    const cpu = process.cpuUsage(cpu0);
    send({ seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
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
  const raw: Array<{ mib: number; gbPerSecond: number; ipcGbPerSecond: number }> = [];
  const results: Array<Record<string, number | string>> = [];
  for (const mib of SIZES_MIB) {
    const bytes = Math.round((mib * MIB) / 4) * 4;
    const iters = itersFor(mib);
    const rawBps = await rawStream(bytes, iters);
    const rawIpcBps = await rawStream(bytes, iters, true);
    raw.push({ mib, gbPerSecond: rawBps / 1e9, ipcGbPerSecond: rawIpcBps / 1e9 });
    for (const world of WORLDS) {
      for (const algorithm of ALGORITHMS) {
        const seconds = algorithm === 'star' ? await starBench(world, bytes, iters)
          : await ringBench(world, bytes, iters, { curve: algorithm === 'ring+curve', ipc: algorithm === 'ring+ipc' || algorithm.startsWith('shm'), compression: algorithm === 'ring+fp16' ? 'fp16' : 'none', shm: algorithm.startsWith('shm'), messageBarrier: algorithm === 'shm+msg' });
        const alg = bytes / seconds;
        const bus = (alg * 2 * (world - 1)) / world;
        // Against the raw stream of the same transport.
        const rawSame = algorithm === 'ring+ipc' || algorithm.startsWith('shm') ? rawIpcBps : rawBps;
        // The ranks' CPU time per all-reduce, and the bus bandwidth that CPU cost per byte allows when all of this machine's cores do nothing else.
        const cpu: Record<string, number> = algorithm === 'star' ? {} : { cpuSecondsPerAllreduce: lastRingCpuSeconds, cpuBoundBusGBs: (bus * seconds * os.cpus().length) / lastRingCpuSeconds / 1e9 };
        results.push({ algorithm, world, mib, msPerAllreduce: seconds * 1000, algBandwidthGBs: alg / 1e9, busBandwidthGBs: bus / 1e9, busOverRaw: bus / rawSame, ...cpu });
        process.stderr.write(`${algorithm.padEnd(10)} N=${world} ${String(mib).padStart(2)} MiB  ${(seconds * 1000).toFixed(2).padStart(8)} ms  alg ${(alg / 1e9).toFixed(2)} GB/s  bus ${(bus / 1e9).toFixed(2)} GB/s  raw stream ${(rawSame / 1e9).toFixed(2)} GB/s  bus/raw ${(bus / rawSame).toFixed(2)}${lastRingCpuSeconds && algorithm !== 'star' ? `  cpu ${(lastRingCpuSeconds * 1000).toFixed(2)} ms` : ''}\n`);
      }
    }
  }
  console.log(JSON.stringify({ bench: 'allreduce', transport: 'zeromq tcp loopback (ring+ipc: ipc://; shm: POSIX shared memory, futex barriers in the segment; shm+msg: barriers over ipc://)', cpus: os.cpus().length, raw, results }));
}

if (process.argv[2] === 'child') await runChild(process.argv[3]!, JSON.parse(process.argv[4]!) as Msg);
else await main();
