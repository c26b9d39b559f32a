/**
 * Choosing and naming the GPU, apart from loading anything: what `--gpu N`
 * means for each backend, and what a loaded backend really runs on.
 */

/**
 * Environment for tfjs-node-gpu to see only GPU N: libtensorflow reads it when
 * it loads, and PCI order makes N the index nvidia-smi shows (CUDA's own order
 * is fastest first).
 */
export function cudaDeviceEnv(gpu: number): Record<string, string> {
  return { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: String(gpu) };
}

/** The parts of tfjs-node's NodeJSKernelBackend that tell where it runs. */
export interface TensorflowBackendInfo {
  /** Installed as @tensorflow/tfjs-node-gpu. */
  isGPUPackage?: boolean;
  /** TensorFlow found a GPU device when it started. */
  isUsingGpuDevice?: boolean;
}

/**
 * The device tfjs-node really uses. tfjs-node-gpu bundles libtensorflow 2.9.1
 * (CUDA 11.2, cuDNN 8.1); where those libraries do not load it runs on the CPU
 * without an error, so that case comes back with a warning.
 */
export function tensorflowDevice(info: TensorflowBackendInfo, gpu: number | undefined, gpuName: string | undefined): { device: string; warning?: string } {
  if (info.isUsingGpuDevice) {
    const which = gpu === undefined ? 'GPU' : `GPU ${gpu}`;
    return { device: gpuName ? `${which} (${gpuName})` : which };
  }
  if (!info.isGPUPackage) return { device: 'CPU' };
  return {
    device: 'CPU',
    warning: 'tfjs-node-gpu found no usable GPU and runs on the CPU: its libtensorflow 2.9.1 needs CUDA 11.2 and cuDNN 8.1 libraries on the library path'
      + (gpu === undefined ? '' : ` and GPU ${gpu} to exist`),
  };
}

/**
 * Adapter names from Dawn's refusal of an adapter name that matches nothing
 * ("Available adapters:\n * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'…").
 */
export function parseDawnAdapterList(message: string): string[] {
  return [...message.matchAll(/name: '([^']*)'/g)].map((m) => m[1]!).filter((n) => n !== 'Null backend');
}

/**
 * The Dawn `adapter=` name for GPU N. Dawn matches adapters by name only, so
 * GPU N must have a name no other GPU has; nvidia-smi's name for index N wins
 * (its order is the PCI order CUDA_VISIBLE_DEVICES uses), else the N-th adapter
 * Dawn lists. Throws, saying what to do, when the choice cannot be enforced.
 */
export function webgpuAdapterName(gpu: number, dawnAdapters: string[], nvidiaSmiNames: string[]): string {
  const names = nvidiaSmiNames.length > 0 ? nvidiaSmiNames : dawnAdapters;
  if (gpu >= names.length) throw new Error(`--gpu ${gpu}: this host has ${names.length} GPU${names.length === 1 ? '' : 's'}${names.length ? ` (${names.join(', ')})` : ''}`);
  const name = names[gpu]!;
  const same = names.filter((n) => n === name).length;
  if (same > 1) {
    throw new Error(`--gpu ${gpu}: ${same} GPUs are called '${name}' and Dawn selects adapters by name only; `
      + 'give each worker only its own GPU instead (NVIDIA_VISIBLE_DEVICES=N in a container, or one GPU per host)');
  }
  return name;
}
