/**
 * The floor under the coordinator's CPU per step with --data local: what zeromq.js alone costs a
 * ROUTER that sends N workers a 25-byte frame (a go-ahead's size) every K steps and receives a
 * 180-byte one from each every step (a step report's size), with no decoding, checks or decisions.
 * K is --steps-per-go: 4 by default, as the coordinator renews its 8-step go-aheads every 4 steps
 * (stepFlow.ts); 1 is one go-ahead per step, as before grants. The N DEALERs run in a child
 * process; the ROUTER's CPU (process.cpuUsage, this process only) over the steps after a warm-up,
 * per step, is what bench:scale's coordinator figure can at best come down to without sending
 * fewer messages. Prints one JSON line. Timed on this machine: say whether it was loaded.
 *
 *   node dist/scripts/zmqFloor.js [--workers 256] [--steps 400] [--steps-per-go 4]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { LOCAL_GRANT_STEPS } from '../src/coordinator/stepFlow.js';
import { SerialSender } from '../src/shared/transport/zmqFrames.js';

const GO_BYTES = 25;
const REPORT_BYTES = 180;
const WARMUP = 20;
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const workers = flag('--workers', 256);
const stepsPerGo = flag('--steps-per-go', LOCAL_GRANT_STEPS / 2);
const steps = Math.ceil(flag('--steps', 400) / stepsPerGo) * stepsPerGo;
if (![workers, steps, stepsPerGo].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--workers, --steps and --steps-per-go take positive integers');

if (args[0] === '--dealers') {
  // The child: N dealers that answer every frame with a report-sized one, until a 1-byte frame says stop.
  const endpoint = args[1]!;
  const report = Buffer.alloc(REPORT_BYTES, 7);
  await Promise.all(Array.from({ length: workers }, async () => {
    const d = new zmq.Dealer({ linger: 0 });
    d.connect(endpoint);
    await d.send(Buffer.from('hello'));
    for await (const [frame] of d) {
      if (frame!.length === 1) break;
      for (let k = 0; k < stepsPerGo; k++) await d.send(report);
    }
    d.close();
  }));
} else {
  const router = new zmq.Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const child = fork(fileURLToPath(import.meta.url), ['--dealers', router.lastEndpoint!, '--workers', String(workers)]);
  const incoming = router[Symbol.asyncIterator]();
  const ids: Buffer[] = [];
  while (ids.length < workers) {
    const { value } = await incoming.next();
    if (!value?.[0]) throw new Error('the router closed before every dealer said hello');
    ids.push(value[0]);
  }
  // Sends as the coordinator makes them: queued in order through SerialSender, not awaited one by one.
  const sender = new SerialSender(router);
  const go = Buffer.alloc(GO_BYTES, 1);
  let before = process.cpuUsage();
  const t0 = performance.now();
  let t1 = t0;
  const warmup = Math.ceil(WARMUP / stepsPerGo) * stepsPerGo;
  for (let step = 0; step < warmup + steps; step += stepsPerGo) {
    if (step === warmup) { before = process.cpuUsage(); t1 = performance.now(); }
    for (const id of ids) void sender.send([id, go]);
    for (let got = 0; got < workers * stepsPerGo; got++) await incoming.next();
  }
  const used = process.cpuUsage(before);
  const seconds = (performance.now() - t1) / 1000;
  for (const id of ids) void sender.send([id, Buffer.alloc(1)]);
  await new Promise((resolve) => child.on('exit', resolve));
  router.close();
  process.stdout.write(`${JSON.stringify({
    bench: 'zmq-floor', command: `node dist/scripts/zmqFloor.js ${args.join(' ')}`.trim(), workers, steps, stepsPerGo, goBytes: GO_BYTES, reportBytes: REPORT_BYTES,
    cpuMsPerStep: (used.user + used.system) / 1000 / steps, stepsPerSecond: steps / seconds, warmupSeconds: (t1 - t0) / 1000,
  })}\n`);
}
