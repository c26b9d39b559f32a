import type { TrainConfig } from '../shared/config.js';
import type { Start } from '../shared/protocol.js';

// The worker's few decisions, apart from its loop (worker.ts), which is sequential I/O: wait for a batch,
// compute, all-reduce, report. Pure, so they are tested without a coordinator.

/** Why this replica cannot adopt a generation's start message; undefined: it can. `completed`: its last completed step. */
export function startRefusal(s: Start, config: TrainConfig, completed: number, curve: boolean): string | undefined {
  if (s.step >= config.steps) return `told to start after step ${s.step} of ${config.steps}`;
  if (s.world > config.world || s.rank >= s.world || s.ring.length !== s.world) return `generation ${s.gen}: rank ${s.rank} of ${s.world} with ${s.ring.length} ring endpoints (at most ${config.world} workers)`;
  if (s.generator && s.discriminator) {
    if (!(s.generatorOptimizer && s.discriminatorOptimizer) && s.step > 0) return `generation ${s.gen}: weights after step ${s.step} came without optimizer state`;
  } else if (completed !== s.step) {
    return `generation ${s.gen} continues after step ${s.step}, but this replica is at step ${completed} and was sent no state`;
  }
  if (curve && s.world > 1 && s.ringKeys?.length !== s.world) return 'this worker uses CURVE but the coordinator sent no ring keys (start it with --curve-keys too)';
  return undefined;
}

/**
 * What follows step `step` besides its report: whether the report carries the replica's hash (the last step,
 * the first of a generation, every --check-every), and whether rank 0 sends its state (for sample grids and
 * evaluations; with the optimizers' state for a checkpoint or a state the coordinator asked for). The final
 * state goes after the loop.
 */
export function afterStep(step: number, rank: number, config: TrainConfig, firstOfGeneration: boolean, stateAsked: number | undefined): { hash: boolean; state?: { forCheckpoint: boolean } } {
  const last = step === config.steps;
  const hash = last || firstOfGeneration || step % config.checkEvery === 0;
  const checkpoint = rank === 0 && config.checkpointEvery > 0 && step % config.checkpointEvery === 0;
  const sample = rank === 0 && ((config.sampleEvery > 0 && step % config.sampleEvery === 0) || (config.evalEvery > 0 && step % config.evalEvery === 0));
  const asked = stateAsked === step;
  return !last && (checkpoint || asked || sample) ? { hash, state: { forCheckpoint: checkpoint || asked } } : { hash };
}
