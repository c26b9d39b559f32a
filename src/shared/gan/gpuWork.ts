/**
 * Counting the GPU work of the webgpu backend: program dispatches and
 * read-backs to the CPU. Each costs far more on a GPU than the arithmetic of
 * this trainer's small kernels, so their count per step is what a change to
 * the step's kernels moves.
 */

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend that are counted. */
interface WebgpuBackendLike {
  /** Records one compute dispatch of a compiled program (called by runWebGPUProgram for every kernel that reaches the GPU). */
  recordAndSubmit(...args: unknown[]): unknown;
  /** Copies a GPU buffer to a staging buffer and maps it: the only path of `read` (data()) to the GPU. */
  getBufferData(...args: unknown[]): Promise<unknown>;
  /** dataSync(): maps through canvases, without getBufferData. */
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { values?: unknown; dtype?: string } | undefined };
}

export interface GpuWorkCounts {
  dispatches: number;
  readbacks: number;
}

const COUNTERS = new WeakMap<object, GpuWorkCounts>();

function isWebgpuBackend(backend: object): backend is WebgpuBackendLike {
  const b = backend as Partial<WebgpuBackendLike>;
  return typeof b.recordAndSubmit === 'function' && typeof b.getBufferData === 'function' && typeof b.readSync === 'function' && b.tensorMap !== undefined;
}

/**
 * Running totals of dispatches and read-backs on this backend instance, from
 * the first call on; undefined for a backend that is not tfjs's webgpu one.
 * Wraps the instance's methods (not the package's prototype), once.
 */
export function countGpuWork(backend: object): GpuWorkCounts | undefined {
  const known = COUNTERS.get(backend);
  if (known) return known;
  if (!isWebgpuBackend(backend)) return undefined;
  const counts: GpuWorkCounts = { dispatches: 0, readbacks: 0 };
  const recordAndSubmit = backend.recordAndSubmit.bind(backend);
  const getBufferData = backend.getBufferData.bind(backend);
  const readSync = backend.readSync.bind(backend);
  backend.recordAndSubmit = (...args) => {
    counts.dispatches++;
    return recordAndSubmit(...args);
  };
  backend.getBufferData = (...args) => {
    counts.readbacks++;
    return getBufferData(...args);
  };
  backend.readSync = (dataId) => {
    // Values already on the CPU cost nothing; a complex tensor is read as its two parts, each counted by the recursion.
    const data = backend.tensorMap.get(dataId);
    if (data && data.values == null && data.dtype !== 'complex64' && data.dtype !== 'string') counts.readbacks++;
    return readSync(dataId);
  };
  COUNTERS.set(backend, counts);
  return counts;
}

/** Work done between two readings of the same counter. */
export function gpuWorkSince(before: GpuWorkCounts, now: GpuWorkCounts): GpuWorkCounts {
  return { dispatches: now.dispatches - before.dispatches, readbacks: now.readbacks - before.readbacks };
}
