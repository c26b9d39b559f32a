/**
 * bench:scale — how all-reduce time grows to 1024 ranks, in simulated time:
 * the real ring and halving-doubling code over the simulated α-β link
 * (allreduce/simLink.ts), for N = 2..1024 (powers of two, and 3·2^k between
 * them) and gradients of 64 KB to 64 MB, at α = 20 µs and β = 10 and 100
 * Gbit/s; beside each algorithm's α-β cost and the lower bound no all-reduce
 * can beat; and what --allreduce auto picks there from α and β measured by its
 * own probe on the same simulated network. Prints one JSON line on stdout (a
 * table goes to stderr); with --svg DIR, writes one chart per β.
 * Nothing here is timed on this machine: every figure is simulated time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { allreduceLowerBound, halvingDoublingCost, ringCost } from '../src/shared/allreduce/costModel.js';
import { chooseForLengths } from '../src/shared/allreduce/auto.js';
import { simulateAllReduce, simulateProbe } from '../src/shared/allreduce/simulate.js';
import { renderLineChart } from '../src/shared/plots/lineChart.js';

const ALPHA = 20e-6;
const ALL_GBITS = [10, 100];
const KB = 1024;
const SIZES = [64 * KB, 256 * KB, 1024 * KB, 4096 * KB, 16384 * KB, 65536 * KB];
const POWERS = Array.from({ length: 10 }, (_, i) => 2 ** (i + 1));
const WORLDS = [...POWERS, ...POWERS.slice(0, -1).map((p) => p * 1.5).filter((n) => n >= 3)].sort((a, b) => a - b);
const TARGET = 1.3;

interface Cell {
  gbits: number;
  world: number;
  bytes: number;
  ringS: number;
  rhdS: number;
  ringModelS: number;
  rhdModelS: number;
  lowerBoundS: number;
  auto: 'ring' | 'rhd';
  autoS: number;
  /** auto's simulated time over the better of the two α-β costs: the target is ≤ 1.3. */
  autoOverBestModel: number;
  autoOverLowerBound: number;
}

const args = process.argv.slice(2);
const svgDir = args.includes('--svg') ? args[args.indexOf('--svg') + 1] : undefined;
const quick = args.includes('--quick');
const worlds = quick ? WORLDS.filter((n) => n <= 64) : WORLDS;
// --gbits 10 (or 100): one bandwidth only, so the two can run as separate processes.
const GBITS = args.includes('--gbits') ? [Number(args[args.indexOf('--gbits') + 1])] : ALL_GBITS;
if (GBITS.some((g) => !(g > 0))) throw new Error(`--gbits takes a positive number, got ${args[args.indexOf('--gbits') + 1]}`);

const cells: Cell[] = [];
const probes: Array<{ gbits: number; world: number; alphaS: number; betaBytesPerS: number; probeS: number }> = [];
for (const gbits of GBITS) {
  const net = { alphaS: ALPHA, betaBytesPerS: (gbits * 1e9) / 8, gammaSPerByte: 0 };
  for (const world of worlds) {
    const probe = await simulateProbe(world, net);
    probes.push({ gbits, world, ...probe });
    for (const bytes of SIZES) {
      const ringS = await simulateAllReduce('ring', world, bytes, net);
      const rhdS = await simulateAllReduce('rhd', world, bytes, net);
      const choice = chooseForLengths({ d: bytes / 4, g: bytes / 4 }, world, probe).phases.d.algorithm;
      const ringModelS = ringCost(world, bytes, net);
      const rhdModelS = halvingDoublingCost(world, bytes, net);
      const lowerBoundS = allreduceLowerBound(world, bytes, net);
      const autoS = choice === 'ring' ? ringS : rhdS;
      cells.push({ gbits, world, bytes, ringS, rhdS, ringModelS, rhdModelS, lowerBoundS, auto: choice, autoS, autoOverBestModel: autoS / Math.min(ringModelS, rhdModelS), autoOverLowerBound: autoS / lowerBoundS });
    }
    process.stderr.write(`β ${gbits} Gbit/s, N ${world}: done\n`);
  }
}

const ms = (s: number): string => (s * 1e3).toFixed(3).padStart(9);
process.stderr.write(`${'Gbit/s'.padStart(6)} ${'N'.padStart(5)} ${'bytes'.padStart(9)} ${'ring ms'.padStart(9)} ${'rhd ms'.padStart(9)} ${'ring α-β'.padStart(9)} ${'rhd α-β'.padStart(9)} ${'bound'.padStart(9)} auto ${'auto/best'.padStart(9)}\n`);
for (const c of cells) {
  process.stderr.write(`${String(c.gbits).padStart(6)} ${String(c.world).padStart(5)} ${String(c.bytes).padStart(9)} ${ms(c.ringS)} ${ms(c.rhdS)} ${ms(c.ringModelS)} ${ms(c.rhdModelS)} ${ms(c.lowerBoundS)} ${c.auto.padEnd(4)} ${c.autoOverBestModel.toFixed(3).padStart(9)}\n`);
}
const worst = cells.reduce((w, c) => (c.autoOverBestModel > w.autoOverBestModel ? c : w), cells[0]!);
const over = cells.filter((c) => c.autoOverBestModel > TARGET);

if (svgDir) {
  mkdirSync(svgDir, { recursive: true });
  for (const gbits of GBITS) {
    for (const bytes of [64 * KB, 4096 * KB, 65536 * KB]) {
      const at = cells.filter((c) => c.gbits === gbits && c.bytes === bytes);
      const line = (name: string, y: (c: Cell) => number): { name: string; points: Array<[number, number]> } => ({ name, points: at.map((c) => [c.world, y(c) * 1e3]) });
      const svg = await renderLineChart({
        title: `All-reduce of ${bytes / KB} KB, α = 20 µs, β = ${gbits} Gbit/s (simulated time)`,
        xTitle: 'ranks N', yTitle: 'ms', xLog: true, yLog: true, points: true,
        series: [line('ring (simulated)', (c) => c.ringS), line('halving-doubling (simulated)', (c) => c.rhdS), line('auto (simulated)', (c) => c.autoS), line('lower bound', (c) => c.lowerBoundS)],
      });
      writeFileSync(path.join(svgDir, `scale-${gbits}gbit-${bytes / KB}kb.svg`), svg);
    }
  }
}

process.stdout.write(`${JSON.stringify({
  bench: 'scale', simulated: true, command: `node dist/scripts/benchScale.js ${args.join(' ')}`.trim(), alphaS: ALPHA, gbits: GBITS, worlds, sizes: SIZES, target: TARGET,
  worstAutoOverBestModel: worst.autoOverBestModel, worstCell: { gbits: worst.gbits, world: worst.world, bytes: worst.bytes },
  cellsOverTarget: over.length, cellCount: cells.length, probes, cells,
})}\n`);
