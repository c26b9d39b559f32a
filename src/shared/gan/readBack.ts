import type { Tf, Tensor } from './tf.js';
import { asFloat32 } from './paramGroup.js';

/** tfjs-backend-wasm's view of a tensor's data on its heap (its own kernels use it); the native backend is wasm's. */
interface HeapViews {
  typedArrayFromHeap(t: { shape: number[]; dtype: string; dataId: object }): ArrayBufferView;
}

const hasHeapViews = (b: unknown): b is HeapViews => typeof (b as Partial<HeapViews>).typedArrayFromHeap === 'function';

/**
 * `t`'s bytes to `use` at once: a view of the wasm heap where the backend keeps its data there
 * (valid only until the next allocation, so `use` must not run tfjs), else the backend's own copy.
 */
export async function withBytes(tf: Tf, t: Tensor, use: (bytes: Uint8Array) => void): Promise<void> {
  const backend = tf.backend();
  const data = hasHeapViews(backend) ? backend.typedArrayFromHeap(t) : ((await t.data()) as ArrayBufferView);
  use(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * Read-backs into one buffer per key, kept from call to call.
 *
 * Why: `data()` on wasm slices the heap into a new ArrayBuffer, 4.4 MB a step for the MLP's two
 * gradient buffers. That much new external memory made V8 run a full mark-compact every few steps,
 * and its concurrent marking and sweeping took about 30 % of a second core: free while that
 * core idles (one worker), taken from the other worker when two share the cores. Copying into a
 * buffer kept here is the same memcpy without the garbage.
 *
 * The buffer for a key is overwritten by the next read of that key, so a caller must be done with it
 * by then. In a training step each phase reads once, so a phase's buffer is reused two read-backs
 * later, which is what the ring's zero-copy sends allow (ring.ts). Backends that hand back fresh
 * arrays anyway (cpu, webgpu, tensorflow) return those, unchanged.
 */
export class ReadBackBuffers {
  private readonly buffers = new Map<string, Float32Array>();

  constructor(private readonly tf: Tf) {}

  /** `t`'s values (float32), then `t` is disposed. */
  async read(key: string, t: Tensor): Promise<Float32Array> {
    try {
      const backend = this.tf.backend();
      if (!hasHeapViews(backend) || t.dtype !== 'float32') return asFloat32(await t.data());
      const buf = this.kept(key, t.size);
      // The heap view is valid until the next allocation on the heap: copied at once.
      buf.set(backend.typedArrayFromHeap(t) as Float32Array);
      return buf;
    } finally {
      t.dispose();
    }
  }

  /** The buffer kept for `key`, of `size` floats (a new one when the size changed). */
  private kept(key: string, size: number): Float32Array {
    let buf = this.buffers.get(key);
    if (buf?.length !== size) {
      buf = new Float32Array(size);
      this.buffers.set(key, buf);
    }
    return buf;
  }

  /**
   * `t`'s first `head.length` values straight into `head` (memory the caller chose: the shared-memory
   * all-reduce's slot, which then needs no copy of its own), the rest into this key's buffer; then `t`
   * is disposed. `rest` follows `read`'s rule: overwritten by the next read of the key.
   */
  async readInto(key: string, t: Tensor, head: Float32Array): Promise<{ head: Float32Array; rest: Float32Array }> {
    if (t.dtype !== 'float32' || t.size < head.length) {
      t.dispose();
      throw new RangeError(`read-back of ${t.size} ${t.dtype} values into ${head.length} floats`);
    }
    const backend = this.tf.backend();
    if (!hasHeapViews(backend)) {
      const all = await this.read(key, t);
      head.set(all.subarray(0, head.length));
      return { head, rest: all.subarray(head.length) };
    }
    try {
      // A key of its own: a phase that alternates between read and readInto (one generation through shared memory, the next not) keeps both buffers.
      const buf = this.kept(`${key}:rest`, t.size - head.length);
      const heap = backend.typedArrayFromHeap(t) as Float32Array;
      head.set(heap.subarray(0, head.length));
      buf.set(heap.subarray(head.length));
      return { head, rest: buf };
    } finally {
      t.dispose();
    }
  }
}
