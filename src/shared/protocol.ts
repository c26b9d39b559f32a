// zod 4 (shipped in the zod 3.25 package as zod/v4): it checks a step report several times faster than zod 3,
// whose checks were half the coordinator's CPU per step with 256 workers (bench:scale).
import { z } from 'zod/v4';
import { ProtocolError } from './errors.js';
import { ALLREDUCE_MODES, ARCHS, COMPRESSIONS, DATA_SOURCES } from './config.js';
import { SPAN_NAMES } from './timeline.js';
import { SEGMENT_NAME } from './allreduce/sharedMemoryPlan.js';

/** Bumped on any change to a message's meaning or shape. */
export const PROTOCOL_VERSION = 10;

/** Larger frames are refused before decoding (a 16-MiB gradient buffer fits with room). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

const v = z.literal(PROTOCOL_VERSION);
const step = z.number().int().positive();
/** A membership generation: 1 for the first roster, one more after every change. */
const gen = z.number().int().positive();
const phase = z.enum(['d', 'g']);
const f32 = z.custom<Float32Array>((x) => x instanceof Float32Array, 'expected a float32 array');
/** Gradients on the wire: float32, or 16-bit encodings under --compression (allreduce/compression.ts). */
const gradData = z.custom<Float32Array | Uint16Array>((x) => x instanceof Float32Array || x instanceof Uint16Array, 'expected a float32 or uint16 array');
const u8 = z.custom<Uint8Array>((x) => x instanceof Uint8Array, 'expected a uint8 array');
const finite = z.number().refine(Number.isFinite, 'must be finite');
/** Losses of a step whose gradients blew up may be NaN or infinite; they are reported, not dropped (zod 4's number() takes neither). */
const lossValue = z.union([z.number(), z.nan(), z.literal([Infinity, -Infinity])]);
const nonNegInt = z.number().int().nonnegative();
/** `HOST:PORT` or `[IPv6]:PORT`, the form a Prometheus target takes. */
export const HOST_PORT = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;
const hostPort = z.string().max(300).regex(HOST_PORT, 'expected HOST:PORT')
  .refine((a) => { const p = Number(a.slice(a.lastIndexOf(':') + 1)); return p >= 1 && p <= 65535; }, 'port must be 1-65535');

export const trainConfigSchema = z.object({
  arch: z.enum(ARCHS),
  latentDim: z.number().int().positive().max(4096),
  batchSize: z.number().int().positive().max(1 << 16),
  /** Most workers at once (--workers); the global batch is always world × batchSize. */
  world: z.number().int().positive().max(1024),
  /** Fewest workers training may continue with (--min-workers). */
  minWorkers: z.number().int().positive().max(1024),
  steps: z.number().int().positive(),
  stepsPerEpoch: z.number().int().positive(),
  lr: z.number().positive(),
  /** The discriminator's own learning rate (--d-lr); absent: lr. */
  dLr: z.number().positive().max(1).optional(),
  beta1: z.number().min(0).lt(1),
  beta2: z.number().min(0).lt(1),
  epsilon: z.number().positive(),
  seed: nonNegInt,
  allreduce: z.enum(ALLREDUCE_MODES),
  /** Absent: 'none' (and in checkpoints written before --compression existed). */
  compression: z.enum(COMPRESSIONS).optional(),
  /** Absent: 'coordinator' (and in checkpoints written before --data local existed). */
  data: z.enum(DATA_SOURCES).optional(),
  dataExamples: z.number().int().positive().optional(),
  checkEvery: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
  sampleEvery: nonNegInt,
  timeline: z.boolean(),
  checkpointEvery: nonNegInt,
  heartbeatMs: z.number().int().positive(),
  workerTimeoutMs: z.number().int().positive(),
  /** How long the coordinator waits for workers to come back when fewer than minWorkers remain. */
  rejoinTimeoutMs: nonNegInt,
  /** Rank 0 sends its weights every this many steps for an MNIST-FID evaluation; 0: none. */
  evalEvery: nonNegInt,
  /** The generator's weight average (--ema-decay); absent: none (and in checkpoints written before it existed). */
  emaDecay: z.number().gt(0).lt(1).optional(),
  /** The learning-rate decay (--lr-decay); absent: constant (and in checkpoints written before it existed). */
  lrDecay: z.number().gt(0).max(1).optional(),
  /** One-sided label smoothing (--label-smoothing); absent: none. */
  labelSmoothing: z.number().gt(0).lt(0.5).optional(),
}).strict();

/** One phase of a worker's step, in microseconds since the Unix epoch (a Chrome trace's clock). */
export const spanSchema = z.object({
  name: z.enum(SPAN_NAMES),
  phase: z.enum(['d', 'g']).optional(),
  start: z.number().nonnegative(),
  dur: z.number().nonnegative(),
}).strict();

// Worker -> coordinator
export const helloSchema = z.object({
  t: z.literal('hello'), v, backend: z.string().max(64), host: z.string().max(256),
  pid: nonNegInt, dataEndpoint: z.string().max(512),
  /** The device the backend runs on, where it can tell (a WebGPU adapter's name). */
  device: z.string().max(256).optional(),
  /** With CURVE: the key this worker's ring socket serves with (its predecessor must know it). */
  curvePublicKey: z.string().length(40).optional(),
  /** The rank it asks for (a launcher's slot, a Kubernetes completion index): orders the first roster. */
  rank: nonNegInt.optional(),
  /** Where its /metrics answers (its advertised address and the port it took); absent with --no-metrics. */
  metricsAddress: hostPort.optional(),
  /** The same ring port on a Unix socket, for a predecessor that registered the same host id (hostId.ts). */
  ipcEndpoint: z.string().startsWith('ipc://').max(512).optional(),
  hostId: z.string().max(512).optional(),
  /** It can map POSIX shared memory (the addon's shmMap works here), and which /dev/shm it sees (sharedMemoryDomain): ranks that see the same one may all-reduce through it. */
  sharedMemory: z.string().max(1024).optional(),
}).strict();
export const readySchema = z.object({ t: z.literal('ready'), v, modelHash: z.string().regex(/^[0-9a-f]{64}$/) }).strict();
const peerAlgorithm = z.enum(['ring', 'rhd']);
export const allreduceChoiceSchema = z.object({ alphaS: finite, betaBytesPerS: finite, d: peerAlgorithm, g: peerAlgorithm }).strict();
export type AllreduceChoice = z.infer<typeof allreduceChoiceSchema>;
export const stepDoneSchema = z.object({
  t: z.literal('stepDone'), v, step, dLoss: lossValue, gLoss: lossValue, dReal: lossValue, dFake: lossValue,
  /** Phases not applied because the averaged gradients were not finite. */
  skipped: z.array(phase).max(2).optional(),
  computeMs: finite, reduceMs: finite, applyMs: finite, dataWaitMs: finite, peerWaitMs: finite,
  hash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  spans: z.array(spanSchema).max(64).optional(),
  /** --allreduce auto: the choice this generation made, on the first step report after it. */
  allreduceChoice: allreduceChoiceSchema.optional(),
}).strict();
export const gradSchema = z.object({ t: z.literal('grad'), v, gen, step, phase, data: gradData }).strict();
/**
 * Rank 0's state after `step`: weights for sample grids, with both optimizers' state for checkpoints,
 * and the generator's weight average when the run keeps one (what samples, evaluations and the export use).
 */
export const weightsSchema = z.object({
  t: z.literal('weights'), v, step: nonNegInt, generator: f32, discriminator: f32,
  generatorOptimizer: f32.optional(), discriminatorOptimizer: f32.optional(), generatorAverage: f32.optional(),
}).strict();
/** From a worker's heartbeat thread (its own connection): the session ties it to a registered rank. */
export const workerHeartbeatSchema = z.object({ t: z.literal('heartbeat'), v, id: nonNegInt, session: z.string().regex(/^[0-9a-f]{32}$/) }).strict();
/** Generation `gen` is abandoned here: this replica rolled back to the state after step `completed`. */
export const abortedSchema = z.object({ t: z.literal('aborted'), v, gen, completed: nonNegInt }).strict();
export const failureSchema = z.object({ t: z.literal('failure'), v, code: z.string().max(64), message: z.string().max(4096) }).strict();

// Coordinator -> worker
/** `id` names the worker for the whole run; its rank may change with each generation. */
export const welcomeSchema = z.object({ t: z.literal('welcome'), v, id: nonNegInt, session: z.string().regex(/^[0-9a-f]{32}$/), config: trainConfigSchema }).strict();
export const coordinatorHeartbeatSchema = z.object({ t: z.literal('heartbeat'), v }).strict();
export const rejectSchema = z.object({ t: z.literal('reject'), v: z.number(), reason: z.string().max(4096) }).strict();
/**
 * Generation `gen` trains from the state after `step` (0, a checkpoint's, or the last
 * completed one after a membership change) as rank `rank` of `world`. Weights (and,
 * past step 0, optimizer states) come along for a replica that lacks that state (a
 * joining worker, or one that was behind); a replica without them keeps its own.
 */
export const startSchema = z.object({
  t: z.literal('start'), v, gen, rank: nonNegInt, world: z.number().int().positive().max(1024),
  ring: z.array(z.string().max(512)), step: nonNegInt,
  generator: f32.optional(), discriminator: f32.optional(),
  /** With CURVE: each rank's ring public key, in rank order. */
  ringKeys: z.array(z.string().length(40)).optional(),
  generatorOptimizer: f32.optional(), discriminatorOptimizer: f32.optional(),
  /** Every rank is on one host and can map shared memory: the generation all-reduces through the segment of this name (sharedMemoryPlan.ts). */
  sharedMemory: z.string().regex(SEGMENT_NAME).optional(),
}).strict();
export const batchSchema = z.object({
  t: z.literal('batch'), v, gen, step, epoch: nonNegInt, position: nonNegInt, images: u8,
}).strict();
/** Most steps one go-ahead may grant: a bound on what a worker parks for one message. */
export const MAX_GO_STEPS = 1024;
/**
 * --data local: steps `step` to `through` of generation `gen` may start; the worker cuts its slices from its
 * own copy of the data. One message grants several steps, so the coordinator sends a fraction of a message per step.
 */
export const goSchema = z.object({ t: z.literal('go'), v, gen, step, through: step }).strict()
  .refine((g) => g.through >= g.step && g.through - g.step < MAX_GO_STEPS, { message: `a go-ahead grants steps step..through, at most ${MAX_GO_STEPS} of them`, path: ['through'] });
export const reducedSchema = z.object({ t: z.literal('reduced'), v, gen, step, phase, data: gradData }).strict();
/** Send your full state once step `step` is done (for a checkpoint on a signal, or for a joining worker). */
export const checkpointRequestSchema = z.object({ t: z.literal('checkpoint'), v, step }).strict();
/** Abandon generation `gen` (a worker was lost, or one joins): roll back to the last completed step and answer 'aborted'. */
export const abortSchema = z.object({ t: z.literal('abort'), v, gen }).strict();
export const shutdownSchema = z.object({ t: z.literal('shutdown'), v, ok: z.boolean(), reason: z.string().max(4096) }).strict();

// Worker -> worker (ring)
export const chunkSchema = z.object({ t: z.literal('chunk'), v, gen, step, phase, seq: nonNegInt, data: gradData }).strict();

export const workerToCoordinator = z.discriminatedUnion('t', [helloSchema, readySchema, stepDoneSchema, gradSchema, weightsSchema, workerHeartbeatSchema, abortedSchema, failureSchema]);
export const coordinatorToWorker = z.discriminatedUnion('t', [
  welcomeSchema, rejectSchema, startSchema, batchSchema, goSchema, reducedSchema, checkpointRequestSchema, abortSchema, coordinatorHeartbeatSchema, shutdownSchema,
]);

export type Hello = z.infer<typeof helloSchema>;
export type Ready = z.infer<typeof readySchema>;
export type StepDone = z.infer<typeof stepDoneSchema>;
export type Grad = z.infer<typeof gradSchema>;
export type Weights = z.infer<typeof weightsSchema>;
export type Failure = z.infer<typeof failureSchema>;
export type Aborted = z.infer<typeof abortedSchema>;
export type Abort = z.infer<typeof abortSchema>;
export type Welcome = z.infer<typeof welcomeSchema>;
export type Reject = z.infer<typeof rejectSchema>;
export type Start = z.infer<typeof startSchema>;
export type Batch = z.infer<typeof batchSchema>;
export type Go = z.infer<typeof goSchema>;
export type Reduced = z.infer<typeof reducedSchema>;
export type Shutdown = z.infer<typeof shutdownSchema>;
export type CheckpointRequest = z.infer<typeof checkpointRequestSchema>;
export type Chunk = z.infer<typeof chunkSchema>;
export type Span = z.infer<typeof spanSchema>;
export type WorkerMessage = z.infer<typeof workerToCoordinator>;
export type CoordinatorMessage = z.infer<typeof coordinatorToWorker>;
export type Phase = z.infer<typeof phase>;

/** Distinguishes a peer speaking another protocol version from a merely malformed frame. */
export class VersionMismatchError extends ProtocolError {
  constructor(readonly peerVersion: unknown) {
    super(`peer speaks protocol version ${JSON.stringify(peerVersion)}, this side speaks ${PROTOCOL_VERSION}`);
    this.name = 'VersionMismatchError';
  }
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, direction: string): T {
  if (typeof raw !== 'object' || raw === null) throw new ProtocolError(`${direction}: frame is not a message object`);
  const version = (raw as { v?: unknown }).v;
  const type = (raw as { t?: unknown }).t;
  // A reject is readable whatever its version, so an outdated peer still learns why.
  if (typeof version !== 'number') throw new ProtocolError(`${direction}: no protocol version field`);
  if (version !== PROTOCOL_VERSION && type !== 'reject') throw new VersionMismatchError(version);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ProtocolError(`${direction}: invalid ${typeof type === 'string' ? `'${type.slice(0, 32)}'` : 'untyped'} message${where}: ${issue?.message ?? 'unknown'}`);
  }
  return parsed.data;
}

export const parseWorkerMessage = (raw: unknown): WorkerMessage => parseWith(workerToCoordinator, raw, 'worker message');
export const parseCoordinatorMessage = (raw: unknown): CoordinatorMessage => parseWith(coordinatorToWorker, raw, 'coordinator message');
export const parseChunk = (raw: unknown): Chunk => parseWith(chunkSchema, raw, 'ring chunk');
